"""A reply a channel could not send for a passing reason goes again later (a `channel.resend`
job), once, to a lead who still wants it, by the channel's rules at that moment."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import keys
from bot.app import create_app
from bot.assets import flows_dir
from bot.clock import ManualClock
from bot.flowbook import FlowBook
from bot.flows import parse_flow
from channels.resend import KIND, RESEND, resend_key
from tests.conftest import ClientFactory, api_get, settle
from tests.support.email_app import email_settings, send_mail
from tests.support.fake_twilio import Rig, ServerFactory, start_rig
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink

LEAD = "+14155550100"
TEMPLATE_SID = "HX" + "5e0d" * 8
# Past the first resend and its jitter (30 s ± 10 %).
FIRST_RESEND = RESEND.first_delay_seconds * (1 + RESEND.jitter) + 1


async def the_conversation(client: Any, channel: str) -> dict[str, Any]:
    [conv] = (await api_get(client, f"/api/conversations?channel={channel}"))["items"]
    return dict(await api_get(client, f"/api/conversations/{conv['id']}"))


async def bot_messages(client: Any, channel: str = "sms") -> list[dict[str, Any]]:
    return [m for m in (await the_conversation(client, channel))["messages"] if m["from"] == "bot"]


async def twilio_rig(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path, **kwargs: Any
) -> tuple[Rig, ManualClock]:
    clock = ManualClock()
    rig = await start_rig(
        aiohttp_server, aiohttp_client, tmp_path / "data", clock=clock.now, timers=clock, **kwargs
    )
    return rig, clock


@pytest.fixture
async def sms(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> tuple[Rig, ManualClock]:
    """leadbot with SMS on the fake Twilio, on a ManualClock."""
    return await twilio_rig(aiohttp_server, aiohttp_client, tmp_path)


async def lead_texts(rig: Rig, body: str) -> None:
    await rig.twilio.sms(LEAD, body)
    await settle(rig.app)


async def move(rig_app: Any, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    await rig_app[keys.JOBS].idle()
    await settle(rig_app)


async def test_an_sms_reply_twilio_failed_to_take_goes_out_once_it_recovers(
    sms: tuple[Rig, ManualClock],
) -> None:
    rig, clock = sms
    rig.fake.fail_with(500, 20500, "Internal Server Error")
    await lead_texts(rig, "Hi, we need to automate our lead follow-ups")

    [reply] = await bot_messages(rig.client)
    assert reply["delivery"] == "failed" and "HTTP 500" in reply["delivery_error"]
    assert rig.fake.sent == []
    conv = await the_conversation(rig.client, "sms")
    [job] = await rig.app[keys.JOBS].pending(subject=conv["lead"]["id"], kind=KIND)
    assert job.payload == {"message_id": reply["id"]}  # ids only

    rig.fake.succeed()
    await move(rig.app, clock, RESEND.first_delay_seconds * (1 - RESEND.jitter) - 1)
    assert rig.fake.sent == []  # not before its time
    await move(rig.app, clock, RESEND.first_delay_seconds * 2 * RESEND.jitter + 2)

    [sent] = rig.fake.to(LEAD)
    assert sent.body == reply["text"]
    [after] = await bot_messages(rig.client)
    assert (after["delivery"], after["delivery_error"]) == ("queued", None)
    assert await rig.app[keys.JOBS].pending(kind=KIND) == []

    # A job runs at least once: a second run finds the message taken and sends nothing.
    await rig.app[keys.JOBS].schedule(KIND, {"message_id": reply["id"]}, key=resend_key(reply["id"]))
    await move(rig.app, clock, 1)
    assert len(rig.fake.to(LEAD)) == 1 and rig.fake.requests == 2
    await rig.twilio.status(sent.sid, "delivered")  # the status callback finds the resent message
    [delivered] = await bot_messages(rig.client)
    assert delivered["delivery"] == "delivered"


async def test_a_refusal_that_would_stand_is_not_retried(sms: tuple[Rig, ManualClock]) -> None:
    rig, clock = sms
    rig.fake.fail_with(400, 21211, "The 'To' number is not a valid phone number.")
    await lead_texts(rig, "Hi there")

    [reply] = await bot_messages(rig.client)
    assert reply["delivery"] == "failed" and "HTTP 400" in reply["delivery_error"]
    assert await rig.app[keys.JOBS].pending(kind=KIND) == []
    rig.fake.succeed()
    await move(rig.app, clock, 3600)
    assert rig.fake.sent == [] and rig.fake.requests == 1


async def test_a_twilio_that_stays_down_is_tried_with_backoff_then_given_up(
    sms: tuple[Rig, ManualClock],
) -> None:
    rig, clock = sms
    rig.fake.fail_with(429, 20429, "Too Many Requests")
    await lead_texts(rig, "Hi there")

    requests = [rig.fake.requests]
    for _ in range(40):  # an hour, in 90-second steps
        await move(rig.app, clock, 90)
        requests.append(rig.fake.requests)

    assert rig.fake.requests == 1 + RESEND.attempts
    # exponential: each wait longer than the one before (sends counted per step)
    steps_between = [i for i in range(1, len(requests)) if requests[i] > requests[i - 1]]
    gaps = [b - a for a, b in itertools.pairwise(steps_between)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0], requests
    [failed] = await rig.app[keys.JOBS].failed(kind=KIND)
    assert failed.attempt == RESEND.attempts and "HTTP 429" in (failed.last_error or "")
    [reply] = await bot_messages(rig.client)
    assert reply["delivery"] == "failed" and "HTTP 429" in reply["delivery_error"]
    assert await rig.app[keys.JOBS].pending(kind=KIND) == []


async def test_a_lead_who_opts_out_meanwhile_gets_only_the_confirmation(sms: tuple[Rig, ManualClock]) -> None:
    rig, clock = sms
    rig.fake.fail_with(503, 503, "Service Unavailable")
    await lead_texts(rig, "Hi, we need a CRM")
    await lead_texts(rig, "STOP")
    assert [m["delivery"] for m in await bot_messages(rig.client)] == ["failed", "failed"]

    rig.fake.succeed()
    await move(rig.app, clock, FIRST_RESEND)

    question, confirmation = await bot_messages(rig.client)
    assert [s.body for s in rig.fake.to(LEAD)] == [confirmation["text"]]
    assert (question["delivery"], question["delivery_error"]) == ("failed", "the lead opted out")
    assert confirmation["delivery"] == "queued"


def flow_with_template() -> FlowBook:
    data = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    data["whatsapp"] = {"template_sid": TEMPLATE_SID, "variables": {"1": "{name|there}"}}
    flow = parse_flow(data)
    return FlowBook({flow.id: flow}, flow.id)


async def test_a_whatsapp_reply_resent_after_the_window_closed_goes_as_the_template(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig, clock = await twilio_rig(aiohttp_server, aiohttp_client, tmp_path, flows=flow_with_template())
    rig.fake.fail_with(500, 20500, "Internal Server Error")
    await rig.twilio.whatsapp(LEAD, "Hi, we need a CRM")
    await settle(rig.app)
    [reply] = await bot_messages(rig.client, "whatsapp")
    assert reply["delivery"] == "failed"

    rig.fake.succeed()
    await move(rig.app, clock, 25 * 3600)  # the resend's time came while the window closed

    [sent] = rig.fake.to(f"whatsapp:{LEAD}")
    assert (sent.content_sid, sent.body) == (TEMPLATE_SID, None)
    assert sent.content_variables == '{"1": "there"}'
    [after] = await bot_messages(rig.client, "whatsapp")
    assert after["delivery"] == "queued"


@pytest.fixture
def later_sink() -> SmtpSink:
    """An SMTP server on a port of its own, not listening until a test starts it."""
    return SmtpSink()


async def test_an_email_reply_the_smtp_server_could_not_take_goes_once_it_is_back(
    aiohttp_client: ClientFactory, tmp_path: Path, later_sink: SmtpSink
) -> None:
    clock = ManualClock()
    settings = email_settings(tmp_path / "data", later_sink.port)
    client = await aiohttp_client(create_app(settings, clock=clock.now, timers=clock))
    body = await send_mail(client, Mail(subject="Pricing", text="Hi, we're Acme and need a CRM."))
    [reply] = await bot_messages(client, "email")
    assert reply["delivery"] == "failed" and "Error connecting" in reply["delivery_error"]
    assert [j.key for j in await client.app[keys.JOBS].pending(kind=KIND)] == [resend_key(reply["id"])]

    with later_sink:
        await move(client.app, clock, FIRST_RESEND)
        mail = await later_sink.next_mail()
        assert mail.rcpt_tos == ["jane@acme.io"]
        assert reply["text"].splitlines()[0] in mail.part("text/plain")
        assert str(mail.message["Subject"]) == "Re: Pricing"
        await client.app[keys.JOBS].idle()
        assert later_sink.received_nothing_more()

    [after] = await bot_messages(client, "email")
    assert after["delivery"] == "queued" and after["delivery_error"] is None
    assert body["conversation_id"] == (await the_conversation(client, "email"))["id"]
