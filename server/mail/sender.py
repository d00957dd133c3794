"""Sending a built message: over SMTP with aiosmtplib when SMTP_HOST is set, otherwise as
an .eml file under DATA_DIR/mail (development and the embedded default), which any mail
client opens."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import aiosmtplib

from server.config import Settings
from server.ids import new_id

SMTP_TIMEOUT = 30.0


async def send_message(settings: Settings, message: EmailMessage) -> str:
    """Send `message`; returns where it went (`smtp://host:port` or the file path)."""
    if settings.smtp_host:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout=SMTP_TIMEOUT,
        )
        return f"smtp://{settings.smtp_host}:{settings.smtp_port}"
    path = await asyncio.to_thread(write_eml, mail_dir(settings), message)
    return str(path)


def mail_dir(settings: Settings) -> Path:
    return settings.data_dir / "mail"


def write_eml(directory: Path, message: EmailMessage) -> Path:
    """Write atomically (temporary name, then rename) so readers never see half a mail."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{new_id()}.eml"
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(message.as_bytes(policy=SMTP))
    os.replace(temporary, directory / name)
    return directory / name
