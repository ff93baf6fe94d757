"""Only the configured provider may post mail: Mailgun's signature (fresh, untampered) or the
URL key; anything else is 403 and nothing is stored. With neither configured, nobody may —
unless development mode says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get
from tests.support.email_app import INBOUND, email_settings, post_form, post_mime
from tests.support.inbound_mail import INBOUND_KEY, MAILGUN_KEY, Mail, mailgun_signature_fields
from tests.support.smtp_sink import SmtpSink

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


# Requested before aiohttp_client by the fixtures below, so the app closes (finishing its
# bot turns and their sends) before the SMTP server stops.
@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def mailgun(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path, clock: Clock
) -> TestClient[Any, Any]:
    """Mailgun only: no URL key is configured."""
    settings = email_settings(
        tmp_path / "data", sink.port, LEADBOT_EMAIL_INBOUND_KEY="", LEADBOT_MAILGUN_SIGNING_KEY=MAILGUN_KEY
    )
    return await aiohttp_client(create_app(settings, clock=clock))


async def stored(client: TestClient[Any, Any]) -> int:
    return len((await api_get(client, "/api/conversations?channel=email"))["items"])


def signed_at(when: datetime) -> FormData:
    return Mail(text="Hi").mailgun(timestamp=int(when.timestamp()))


async def test_a_signed_mailgun_post_is_accepted_up_to_fifteen_minutes_either_way(
    mailgun: TestClient[Any, Any], clock: Clock
) -> None:
    await post_form(mailgun, signed_at(NOW), key=None)
    clock.now = NOW + timedelta(minutes=14)
    await post_form(mailgun, Mail(sender="bob@globex.com").mailgun(timestamp=int(NOW.timestamp())), key=None)
    await post_form(
        mailgun, Mail(sender="eve@initech.com").mailgun(timestamp=int(clock.now.timestamp()) + 600), key=None
    )
    assert await stored(mailgun) == 3


def _tampered_signature() -> FormData:
    fields = mailgun_signature_fields(MAILGUN_KEY, int(NOW.timestamp()), "t" * 50)
    fields["signature"] = fields["signature"][:-1] + ("0" if fields["signature"][-1] != "0" else "1")
    return _with(fields)


def _tampered_token() -> FormData:
    fields = mailgun_signature_fields(MAILGUN_KEY, int(NOW.timestamp()), "t" * 50)
    fields["token"] = "u" * 50
    return _with(fields)


def _wrong_key() -> FormData:
    return _with(mailgun_signature_fields("someone-elses-key", int(NOW.timestamp()), "t" * 50))


def _missing(name: str) -> FormData:
    fields = mailgun_signature_fields(MAILGUN_KEY, int(NOW.timestamp()), "t" * 50)
    del fields[name]
    return _with(fields)


def _with(signature: dict[str, str]) -> FormData:
    form = FormData()
    for name, value in signature.items():
        form.add_field(name, value)
    for name, value in {"sender": "jane@acme.io", "from": "jane@acme.io", "body-plain": "Hi"}.items():
        form.add_field(name, value)
    return form


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_tampered_signature, "does not match"),
        (_tampered_token, "does not match"),
        (_wrong_key, "does not match"),
        (lambda: _missing("signature"), "missing"),
        (lambda: _missing("timestamp"), "missing"),
        (lambda: _missing("token"), "missing"),
    ],
    ids=["tampered-signature", "tampered-token", "wrong-key", "no-signature", "no-timestamp", "no-token"],
)
async def test_a_bad_or_missing_mailgun_signature_is_refused(
    mailgun: TestClient[Any, Any], make: Any, message: str
) -> None:
    body = await post_form(mailgun, make(), status=403, key=None)
    assert body["error"] == "forbidden" and message in body["message"]
    assert await stored(mailgun) == 0


async def test_a_stale_mailgun_signature_is_refused(mailgun: TestClient[Any, Any], clock: Clock) -> None:
    clock.now = NOW + timedelta(minutes=16)
    body = await post_form(mailgun, signed_at(NOW), status=403, key=None)
    assert "stale" in body["message"]
    clock.now = NOW - timedelta(minutes=16)  # from the future, as far as we can tell
    body = await post_form(mailgun, signed_at(NOW), status=403, key=None)
    assert "stale" in body["message"]
    assert await stored(mailgun) == 0


async def test_raw_mime_cannot_carry_a_mailgun_signature(mailgun: TestClient[Any, Any]) -> None:
    response = await mailgun.post(INBOUND, data=Mail().mime(), headers={"Content-Type": "message/rfc822"})
    assert response.status == 403
    assert "signature is missing" in (await response.json())["message"]
    # …and with Mailgun only, a URL key is not a way in either.
    response = await mailgun.post(INBOUND, params={"key": "guess"}, data=Mail().sendgrid())
    assert response.status == 403
    assert "no LEADBOT_EMAIL_INBOUND_KEY" in (await response.json())["message"]


async def test_sendgrid_needs_the_right_url_key(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(email_settings(tmp_path / "data", sink.port)))
    missing = await post_form(client, Mail().sendgrid(), status=403, key=None)
    assert "key is missing" in missing["message"]
    wrong = await post_form(client, Mail().sendgrid(), status=403, key=INBOUND_KEY + "x")
    assert "key (?key=) is wrong" in wrong["message"]
    assert await stored(client) == 0
    await post_form(client, Mail().sendgrid())
    await post_mime(client, Mail(sender="bob@globex.com").mime())
    assert await stored(client) == 2


async def test_with_no_key_configured_the_inbound_url_is_closed(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = email_settings(tmp_path / "data", sink.port, LEADBOT_EMAIL_INBOUND_KEY="")
    client = await aiohttp_client(create_app(settings))
    body = await post_form(client, Mail().sendgrid(), status=403, key=None)
    assert "inbound mail is not configured" in body["message"]
    assert await stored(client) == 0


async def test_development_mode_opens_the_inbound_url(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = email_settings(
        tmp_path / "data", sink.port, LEADBOT_EMAIL_INBOUND_KEY="", LEADBOT_EMAIL_INBOUND_INSECURE="true"
    )
    client = await aiohttp_client(create_app(settings))
    await post_form(client, Mail().sendgrid(), key=None)
    assert await stored(client) == 1


async def test_without_smtp_there_is_no_email_channel(client: TestClient[Any, Any]) -> None:
    response = await client.post(INBOUND, params={"key": INBOUND_KEY}, data=Mail().sendgrid())
    assert response.status == 404
