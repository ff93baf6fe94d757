"""Email addresses as accounts know them: checked for form and lower-cased whole."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from bot.auth.errors import InvalidEmail


def normalize_email(raw: str) -> str:
    """So Dana@Example.com and dana@example.com are one account. Deliverability is not
    checked: that needs the network, and sign-in must not."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{raw!r} is not a valid email address: {exc}") from None
    return checked.normalized.lower()
