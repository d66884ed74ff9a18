"""E-mail for owners without Telegram: one message through SMTP_URL (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from botcraft.config import Settings


class MailNotConfigured(Exception):
    pass


async def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail; aiosmtplib's errors propagate for the job to retry."""
    if not settings.smtp_url or not settings.smtp_from:
        raise MailNotConfigured("SMTP_URL and SMTP_FROM are not set")
    url = urlsplit(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "localhost",
        port=url.port or (465 if implicit_tls else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        start_tls=None if not implicit_tls else False,  # STARTTLS whenever the server offers it
        timeout=30,
    )
