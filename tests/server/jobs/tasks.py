"""Tasks registered for the job system's tests (on the reports queue, which no domain
test drains). Each leaves its mark in Redis so a test can see what ran."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.registry import task

QUEUE = queues.REPORTS


@task(queue=QUEUE, name="test.flaky", max_tries=4, retry_delay=0.01)
async def flaky(ctx: JobContext, key: str, failures: int) -> int:
    """Fails `failures` times, then succeeds."""
    runs = int(await ctx.redis.incr(f"test:{key}:runs"))
    if runs <= failures:
        raise RuntimeError(f"failure {runs}")
    await ctx.redis.set(f"test:{key}:done", ctx.job_try)
    return runs


@task(queue=QUEUE, name="test.broken", max_tries=3, retry_delay=0.01)
async def broken(ctx: JobContext, key: str, *, reason: str = "broken") -> None:
    await ctx.redis.incr(f"test:{key}:runs")
    raise ValueError(reason)


@task(queue=QUEUE, name="test.slow", max_tries=2, retry_delay=0.01, timeout=0.2)
async def slow(ctx: JobContext, key: str) -> None:
    await ctx.redis.incr(f"test:{key}:runs")
    await asyncio.sleep(5)


@task(queue=QUEUE, name="test.mark", max_tries=2, retry_delay=0.01)
async def mark(ctx: JobContext, key: str) -> None:
    await ctx.redis.incr(f"test:{key}:runs")


@task(queue=QUEUE, name="test.sleepy", max_tries=3, retry_delay=0.01)
async def sleepy(ctx: JobContext, key: str, seconds: float) -> None:
    """Sleeps on its first run only."""
    runs = int(await ctx.redis.incr(f"test:{key}:runs"))
    if runs == 1:
        await asyncio.sleep(seconds)
    await ctx.redis.set(f"test:{key}:done", runs)


reads_database_max_tries = 2


@task(queue=QUEUE, name="test.reads_database", max_tries=reads_database_max_tries, retry_delay=0.01)
async def reads_database(ctx: JobContext, key: str) -> None:
    await ctx.redis.incr(f"test:{key}:runs")
    async with ctx.db.read() as session:
        await session.execute(text("SELECT 1"))
    await ctx.redis.set(f"test:{key}:done", ctx.job_try)
