"""After-commit effects: every handler of a type runs, once per commit, and one failing
does not stop the others or undo the commit."""

from __future__ import annotations

from dataclasses import dataclass

from server.app_state import AppState
from server.db import Database, after_commit
from server.effects import handles


@dataclass(frozen=True)
class Ping:
    n: int


seen: list[tuple[str, list[int]]] = []


@handles(Ping)
async def first(state: AppState, batch: list[Ping]) -> None:
    seen.append(("first", [p.n for p in batch]))
    raise RuntimeError("a broken handler")


@handles(Ping)
async def second(state: AppState, batch: list[Ping]) -> None:
    seen.append(("second", [p.n for p in batch]))


async def test_each_handler_of_an_effect_type_runs_after_commit(db: Database) -> None:
    seen.clear()
    async with db.transaction() as session:
        after_commit(session, Ping(1))
        after_commit(session, Ping(2))
        assert seen == []  # nothing before the commit

    assert seen == [("first", [1, 2]), ("second", [1, 2])]


async def test_a_rolled_back_transaction_runs_no_handler(db: Database) -> None:
    seen.clear()
    try:
        async with db.transaction() as session:
            after_commit(session, Ping(3))
            raise ValueError("rolled back")
    except ValueError:
        pass

    assert seen == []
