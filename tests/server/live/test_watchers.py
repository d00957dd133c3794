"""A subscriber's mailbox: bounded to one state per key, always the latest, never blocking
whoever offers."""

from __future__ import annotations

import asyncio

from server.live.watchers import Watcher


async def test_a_slow_subscriber_keeps_only_the_latest_state_per_key() -> None:
    watcher: Watcher[str, int] = Watcher()
    for value in range(1000):
        watcher.offer("a", value)
        watcher.offer("b", -value)
    assert watcher.backlog == 2
    assert [await anext(watcher), await anext(watcher)] == [999, -999]
    assert watcher.backlog == 0


async def test_a_state_equal_to_the_last_one_taken_is_not_offered_again() -> None:
    watcher: Watcher[str, int] = Watcher()
    watcher.offer("a", 1)
    assert await anext(watcher) == 1
    watcher.offer("a", 2)
    watcher.offer("a", 1)  # back where the subscriber already is: nothing to send
    assert watcher.backlog == 0
    watcher.forget_taken()
    watcher.offer("a", 1)
    assert watcher.backlog == 1


async def test_ending_completes_the_stream_without_sending_what_was_pending() -> None:
    watcher: Watcher[str, int] = Watcher()
    waiting = asyncio.create_task(anext(watcher, None))
    await asyncio.sleep(0)
    watcher.offer("a", 1)
    assert await waiting == 1
    watcher.offer("a", 2)
    watcher.end()
    assert [value async for value in watcher] == []
    watcher.offer("a", 3)
    assert watcher.backlog == 0
