"""A rendered mail and its MIME form.

multipart/mixed            (only when there are attachments)
  multipart/alternative
    text/plain
    multipart/related      (only when there are inline images)
      text/html
      image/png            (Content-ID, referenced as cid: from the HTML)
  application/...          (attachments)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


@dataclass(frozen=True)
class InlineImage:
    content_id: str  # referenced in the HTML as `cid:<content_id>`
    filename: str
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    inline_images: tuple[InlineImage, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Same key, same Message-ID: a mail sent twice (a retried job) can be recognised.
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def message_id(mail: Mail, domain: str) -> str:
    if mail.idempotency_key is None:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(mail.idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(mail: Mail, *, sender: str, now: datetime) -> EmailMessage:
    domain = Address(addr_spec=sender).domain or "localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(mail, domain)
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.inline_images:
        html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
        assert isinstance(html_part, EmailMessage)
        for image in mail.inline_images:
            html_part.add_related(
                image.data,
                maintype="image",
                subtype=image.subtype,
                cid=f"<{image.content_id}>",
                filename=image.filename,
                disposition="inline",
            )
    for attachment in mail.attachments:
        message.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message
