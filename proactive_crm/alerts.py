"""Alerts to people: a Slack-compatible webhook and/or e-mail, each only when configured.

- ``CRM_ALERT_WEBHOOK_URL``: POST of ``{"text": ..., "blocks": [...]}`` (Slack incoming webhooks, Mattermost and
  Microsoft Teams workflows accept it); the structured fields go in ``"crm"`` for receivers that parse them.
- ``CRM_ALERT_EMAIL_TO`` (comma-separated) with ``CRM_SMTP_URL`` (``smtp://user:password@host:port``, or
  ``smtps://`` for TLS from the start; default ``smtp://localhost:25``) and ``CRM_ALERT_EMAIL_FROM``.

An alert that cannot be delivered is logged and raised as ``AlertDeliveryError`` to the caller, who decides whether
that matters (a failure callback logs it; the deadline check fails its task).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


class AlertDeliveryError(RuntimeError):
    """A configured alert channel did not accept the message; the message names the channel and the error."""


def webhook_payload(title: str, text: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    lines = "\n".join(f"*{key}*: {value}" for key, value in fields.items() if value not in (None, ""))
    return {
        "text": f"{title}\n{text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{lines}"[:3000]}},
        ],
        "crm": {"title": title, "text": text, **{k: _plain(v) for k, v in fields.items()}},
    }


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def post_webhook(url: str, payload: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (configured URL)
            if response.status >= 300:
                raise AlertDeliveryError(f"webhook {urlparse(url).netloc} answered HTTP {response.status}")
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise AlertDeliveryError(f"webhook {urlparse(url).netloc} (CRM_ALERT_WEBHOOK_URL) failed: {exc}") from exc


def send_email(smtp_url: str, sender: str, recipients: list[str], subject: str, body: str) -> None:
    parsed = urlparse(smtp_url)
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, ", ".join(recipients)
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
    try:
        with smtp_class(parsed.hostname or "localhost", port, timeout=TIMEOUT_SECONDS) as smtp:
            if parsed.username:
                smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertDeliveryError(f"e-mail via {parsed.hostname}:{port} (CRM_SMTP_URL) failed: {exc}") from exc


def send_alert(title: str, text: str, fields: Mapping[str, Any] | None = None,
               env: Mapping[str, str] | None = None) -> list[str]:
    """Send to every configured channel; return the channels that accepted it. Raises if any configured one failed."""
    env = os.environ if env is None else env
    fields = dict(fields or {})
    sent: list[str] = []
    errors: list[str] = []
    webhook = env.get("CRM_ALERT_WEBHOOK_URL", "").strip()
    if webhook:
        try:
            post_webhook(webhook, webhook_payload(title, text, fields))
            sent.append("webhook")
        except AlertDeliveryError as exc:
            errors.append(str(exc))
    recipients = [r.strip() for r in env.get("CRM_ALERT_EMAIL_TO", "").split(",") if r.strip()]
    if recipients:
        body = text + "\n\n" + "\n".join(f"{k}: {v}" for k, v in fields.items() if v not in (None, ""))
        try:
            send_email(env.get("CRM_SMTP_URL", "smtp://localhost:25"),
                       env.get("CRM_ALERT_EMAIL_FROM", "proactive-crm@localhost"), recipients, title, body)
            sent.append("email")
        except AlertDeliveryError as exc:
            errors.append(str(exc))
    if not webhook and not recipients:
        log.info("no alert channel configured (CRM_ALERT_WEBHOOK_URL, CRM_ALERT_EMAIL_TO): %s", title)
    if errors:
        for error in errors:
            log.error("alert not delivered: %s", error)
        raise AlertDeliveryError("; ".join(errors))
    return sent
