"""Queueing mail from a domain's transaction: the mail goes out only if it commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.jobs.enqueue import enqueue_after_commit
from server.mail.jobs import send_mail, send_notice
from server.mail.message import Mail
from server.mail.notices import Notice


def queue_notice(session: AsyncSession, notice: Notice) -> None:
    """Send `notice` (an OrderConfirmation, TransferInvitation, ...) after commit."""
    enqueue_after_commit(session, send_notice, notice)


def queue_mail(session: AsyncSession, mail: Mail) -> None:
    """Send an already rendered `mail` after commit."""
    enqueue_after_commit(session, send_mail, mail)
