"""Scanning at the gate: the one way a ticket is checked in. Concurrent scans share a
transaction (group commit, `server.groupcommit`): a crowd at the doors pays one commit
per batch, not one per attendee, and each scan gets the answer it would have had alone
(`server.tickets.checkin.check_in_many`)."""

from __future__ import annotations

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.groupcommit import GroupCommit
from server.replicas.positions import note_callers
from server.tickets.checkin import CheckInResult, Outcome, Scan, check_in_many

GATE = "gate"  # one queue: scans of different events share batches too


class CheckInDesk:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._group: GroupCommit[str, Scan, CheckInResult] = GroupCommit(self._run)

    async def check_in(self, scan: Scan) -> CheckInResult:
        """The admitted ticket (or, scanned before, the ticket and when); raises the
        domain or access error that refuses the scan."""
        return await self._group.submit(GATE, scan)

    async def close(self) -> None:
        await self._group.close()

    async def _run(self, _: str, scans: list[Scan]) -> list[CheckInResult | BaseException]:
        async with self.db.transaction() as session:
            note_callers(session, (scan.actor for scan in scans))
            outcomes: list[Outcome] = await check_in_many(
                session, scans, signing_key=self.settings.ticket_signing_key, now=utcnow()
            )
        return list(outcomes)
