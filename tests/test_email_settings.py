"""The email channel's settings: on only with an SMTP host, with errors that name the variable."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError

SMTP = {"LEADBOT_SMTP_HOST": "smtp.example.com", "LEADBOT_EMAIL_FROM": "Acme Sales <Leads@Example.com>"}


def test_no_smtp_host_means_no_email_channel() -> None:
    assert Settings.from_env({}).email is None


def test_defaults_and_values() -> None:
    email = Settings.from_env(SMTP).email
    assert email is not None
    assert (email.smtp_host, email.smtp_port, email.smtp_starttls) == ("smtp.example.com", 587, True)
    assert (email.from_address, email.from_name, email.domain) == (
        "leads@example.com",
        "Acme Sales",
        "example.com",
    )
    assert email.inbound_key is None and email.mailgun_signing_key is None and not email.inbound_insecure

    email = Settings.from_env(
        {
            **SMTP,
            "LEADBOT_SMTP_PORT": "2525",
            "LEADBOT_SMTP_STARTTLS": "false",
            "LEADBOT_SMTP_USERNAME": "apikey",
            "LEADBOT_SMTP_PASSWORD": "hunter2",
            "LEADBOT_EMAIL_DOMAIN": "Mail.Example.com",
            "LEADBOT_EMAIL_INBOUND_KEY": "k",
            "LEADBOT_MAILGUN_SIGNING_KEY": "m",
        }
    ).email
    assert email is not None
    assert (email.smtp_port, email.smtp_starttls, email.smtp_username) == (2525, False, "apikey")
    assert email.domain == "mail.example.com" and (email.inbound_key, email.mailgun_signing_key) == ("k", "m")
    assert "hunter2" not in repr(email)  # secrets stay out of logs


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LEADBOT_EMAIL_INBOUND_KEY": "k"}, "LEADBOT_SMTP_HOST"),
        ({"LEADBOT_SMTP_HOST": "smtp.example.com"}, "LEADBOT_EMAIL_FROM"),
        ({**SMTP, "LEADBOT_EMAIL_FROM": "not an address"}, "LEADBOT_EMAIL_FROM"),
        ({**SMTP, "LEADBOT_EMAIL_FROM": "leads+x@example.com"}, "must not contain '+'"),
        ({**SMTP, "LEADBOT_SMTP_USERNAME": "apikey"}, "LEADBOT_SMTP_PASSWORD"),
        ({**SMTP, "LEADBOT_SMTP_PORT": "0"}, "LEADBOT_SMTP_PORT"),
        ({**SMTP, "LEADBOT_SMTP_STARTTLS": "maybe"}, "LEADBOT_SMTP_STARTTLS"),
        ({**SMTP, "LEADBOT_EMAIL_DOMAIN": "mail example.com"}, "LEADBOT_EMAIL_DOMAIN"),
        ({**SMTP, "LEADBOT_EMAIL_INBOUND_INSECURE": "sure"}, "LEADBOT_EMAIL_INBOUND_INSECURE"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names.replace("+", r"\+")):
        Settings.from_env(env)
