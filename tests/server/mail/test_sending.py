"""Sending mail: over SMTP to a real (aiosmtpd) server when SMTP_HOST is set, as an .eml
file under DATA_DIR/mail otherwise; once per notice, even when the job runs again."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtplib import SMTPConnectError
from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.jobs import queues
from server.mail.jobs import deliver_mail, send_notice
from server.mail.notices import order_confirmation
from server.mail.service import queue_notice
from tests.server.mail import samples
from tests.server.mail.conftest import SmtpServer
from tests.support.jobs import job_context, run_jobs
from tests.support.live import free_port


async def test_a_notice_is_sent_over_smtp_and_arrives_whole(
    state: AppState, make_settings: Callable[..., Settings], smtp_server: SmtpServer
) -> None:
    settings = make_settings(
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_from="tickets@example.com"
    )
    notice = samples.order_confirmation()

    async with job_context(state, settings) as ctx:
        where = await send_notice(ctx, notice)

    assert where == f"smtp://{smtp_server.host}:{smtp_server.port}"
    [received] = smtp_server.inbox.received
    assert received.sender == "tickets@example.com"
    assert received.recipients == ["ada@example.com"]
    message = received.message
    assert message["Subject"] == "Your tickets for Lagos Jazz <Night> & Friends (order EV-1042)"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    pngs = [p.get_content() for p in message.walk() if p.get_content_type() == "image/png"]
    assert pngs == [t.png for t in notice.tickets]


async def test_a_notice_sent_again_is_not_delivered_twice(
    state: AppState, make_settings: Callable[..., Settings], smtp_server: SmtpServer
) -> None:
    settings = make_settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port)

    async with job_context(state, settings) as ctx:
        first = await send_notice(ctx, samples.refund_notice())
        second = await send_notice(ctx, samples.refund_notice())

    assert first is not None and second is None
    assert len(smtp_server.inbox.received) == 1


async def test_without_smtp_host_mail_is_written_as_an_eml_file(
    state: AppState, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(smtp_host=None, data_dir=tmp_path)

    async with job_context(state, settings) as ctx:
        where = await send_notice(ctx, samples.transfer_invitation())

    [written] = list((tmp_path / "mail").glob("*.eml"))
    assert where == str(written)
    assert list((tmp_path / "mail").glob(".*")) == []  # no temporary file left behind
    message = message_from_bytes(written.read_bytes(), policy=default)
    assert message["To"] == "grace@example.com"
    assert "/transfers/accept?token=" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_an_unreachable_smtp_server_fails_the_send_and_nothing_is_marked_sent(
    state: AppState, make_settings: Callable[..., Settings], redis: Redis, smtp_server: SmtpServer
) -> None:
    down = make_settings(smtp_host="127.0.0.1", smtp_port=free_port())
    up = make_settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    mail = order_confirmation(samples.order_confirmation(), base_url="http://x")

    with pytest.raises(SMTPConnectError):
        await deliver_mail(down, redis, mail)
    assert await deliver_mail(up, redis, mail) is not None

    assert len(smtp_server.inbox.received) == 1


async def test_queued_notices_go_out_through_the_mail_queue_after_commit(
    db: Database, redis: Redis, make_settings: Callable[..., Settings], smtp_server: SmtpServer
) -> None:
    settings = make_settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    try:
        async with db.transaction() as session:
            queue_notice(session, samples.cancellation_notice("order"))
            raise RuntimeError("the order change rolled back")
    except RuntimeError:
        pass
    async with db.transaction() as session:
        queue_notice(session, samples.cancellation_notice("event"))

    await run_jobs(settings, redis, only=[queues.MAIL])

    [received] = smtp_server.inbox.received
    assert received.message["Subject"] == "Lagos Jazz Night is cancelled"
