"""Contact details as a preview may show them: enough to see that an address is there and of which kind."""

from __future__ import annotations


def mask_contact(value: str | None) -> str:
    """``a***@example.de`` for an e-mail address, ``+49*******678`` for a phone number, ``-`` for nothing."""
    if not value:
        return "-"
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    keep = 3 if value.startswith("+") else 0
    return value[:keep] + "*" * max(len(value) - keep - 3, 3) + value[-3:]
