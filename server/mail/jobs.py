"""The mail queue's task: render a notice and send it, once.

A mail cannot be unsent, so a retried job must not send it again: a notice carries an
idempotency key, and a successful send is remembered in Redis under that key for a week.
(A crash between the SMTP server's acceptance and that note can still send a mail twice;
it then has the same Message-ID, which mail clients fold into one.)"""

from __future__ import annotations

from redis.asyncio import Redis

from server.clock import utcnow
from server.config import Settings
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.registry import task
from server.mail.message import Mail, build_message
from server.mail.notices import Notice, render_notice
from server.mail.sender import send_message

SENT_TTL = 7 * 24 * 3600


def _sent_key(idempotency_key: str) -> str:
    return f"eventapi:mail-sent:{idempotency_key}"


async def deliver_mail(settings: Settings, redis: Redis, mail: Mail) -> str | None:
    """Send `mail` unless it was sent before; returns where it went (None: already sent)."""
    key = _sent_key(mail.idempotency_key) if mail.idempotency_key else None
    if key is not None and await redis.exists(key):
        return None
    message = build_message(mail, sender=settings.smtp_from, now=utcnow())
    where = await send_message(settings, message)
    if key is not None:
        await redis.set(key, where, ex=SENT_TTL)
    return where


@task(
    queue=queues.MAIL,
    name="mail.send_notice",
    max_tries=8,
    retry_delay=30.0,
    retry_max_delay=3600.0,
)
async def send_notice(ctx: JobContext, notice: Notice) -> str | None:
    mail = render_notice(notice, base_url=ctx.settings.base_url)
    return await deliver_mail(ctx.settings, ctx.redis, mail)


@task(queue=queues.MAIL, name="mail.send", max_tries=8, retry_delay=30.0, retry_max_delay=3600.0)
async def send_mail(ctx: JobContext, mail: Mail) -> str | None:
    return await deliver_mail(ctx.settings, ctx.redis, mail)
