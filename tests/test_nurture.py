"""Follow-ups to silent leads (docs/nurture.md), on a manual clock through the real job queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import ManualClock
from bot.flowdiff import describe_changes
from bot.flows import parse_flow
from tests.conftest import AUTH, api_call, api_get, make_settings
from tests.support.email_app import conversation, email_settings, reply_from_lead, send_mail
from tests.support.fake_twilio import WHATSAPP_FROM, ClientFactory, ServerFactory
from tests.support.inbound_mail import Mail
from tests.support.nurture import LEAD, STEPS, default_flow_data, flows_with, later, texting
from tests.support.smtp_sink import ReceivedMail, SmtpSink
from tests.support.visitor import Visitor

HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
TEMPLATE_SID = "HX" + "f011" * 8
OPENING = "Hi, I'm Jane, we need a better CRM"


def follow_ups_in(conv: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in conv["messages"] if m["from"] == "bot" and "follow_up" in m["meta"]]


def steps_of(messages: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(m["meta"]["follow_up"]["step"], m["meta"]["follow_up"]["situation"]) for m in messages]


async def test_follow_ups_go_by_sms_at_1h_1d_and_3d_then_stop(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    [asked] = await lead.rig.text(LEAD, OPENING)
    assert asked.endswith("Which company are you with?")

    await lead.later(HOUR - MINUTE)
    assert lead.sent == [asked]
    await lead.later(MINUTE)
    assert lead.sent[1:] == ["Still there, Jane?"]
    await lead.later(DAY - HOUR)
    assert lead.sent[2:] == ["Hi Jane, two quick questions left."]
    await lead.later(2 * DAY - MINUTE)
    assert len(lead.sent) == 3
    await lead.later(MINUTE)
    assert lead.sent[3:] == ["Last nudge from us: reply any time."]
    await lead.later(30 * DAY)
    assert len(lead.sent) == 4  # three steps, no more

    conv = await lead.conversation()
    sent = follow_ups_in(conv)
    assert steps_of(sent) == [(0, "mid_qualification"), (1, "mid_qualification"), (2, "mid_qualification")]
    assert {m["delivery"] for m in sent} == {"queued"}
    assert conv["mode"] == "bot"


async def test_the_lead_replying_cancels_the_follow_up_and_a_new_silence_starts_over(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    await lead.rig.text(LEAD, OPENING)
    await lead.later(30 * MINUTE)
    [asked] = await lead.rig.text(LEAD, "Acme")
    assert asked.endswith("How many people are on your team?")

    await lead.later(30 * MINUTE)  # the first silence's step would be due now
    assert lead.sent[-1] == asked
    await lead.later(30 * MINUTE)  # an hour after the bot's last question
    assert lead.sent[-1] == "Still there, Jane?"
    assert len(follow_ups_in(await lead.conversation())) == 1


async def test_an_agent_claiming_the_conversation_cancels_the_follow_ups(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    await lead.rig.text(LEAD, OPENING)
    await lead.agent_claims()

    await lead.later(5 * DAY)
    assert not [body for body in lead.sent if "Still there" in body or "nudge" in body]
    assert follow_ups_in(await lead.conversation()) == []


async def test_a_lead_handed_off_to_the_team_gets_no_follow_ups(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    await lead.rig.text(LEAD, OPENING)
    [handed] = await lead.rig.text(LEAD, "Can I talk to a person please?")
    assert "bringing in a person" in handed
    assert (await lead.conversation())["mode"] == "pending_human"

    await lead.later(5 * DAY)  # nobody claimed it, and still no follow-up
    assert lead.sent[-1] == handed
    assert follow_ups_in(await lead.conversation()) == []


async def test_a_lead_who_opts_out_gets_no_follow_ups(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    await lead.rig.text(LEAD, OPENING)
    await lead.later(HOUR)  # the first follow-up goes
    [confirmed] = await lead.rig.text(LEAD, "STOP")
    assert "unsubscribed" in confirmed

    await lead.later(5 * DAY)
    assert lead.sent[-1] == confirmed
    assert len(follow_ups_in(await lead.conversation())) == 1


async def test_whatsapp_outside_the_window_sends_the_steps_template_and_skips_a_step_without_one(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    steps = [
        STEPS[0],
        {**STEPS[1], "whatsapp": {"template_sid": TEMPLATE_SID, "variables": {"1": "{name|there}"}}},
        STEPS[2],
    ]
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": steps})
    fake, address = lead.rig.fake, f"whatsapp:{LEAD}"
    await lead.rig.twilio.whatsapp(LEAD, OPENING)
    await lead.later(timedelta(0))

    await lead.later(HOUR)  # inside the 24-hour window: the text
    assert (fake.sent[-1].to, fake.sent[-1].from_, fake.sent[-1].body) == (
        address,
        WHATSAPP_FROM,
        "Still there, Jane?",
    )
    await lead.later(DAY - HOUR)  # the window closed as the day ended: the template
    template = fake.sent[-1]
    assert (template.to, template.content_sid, template.body) == (address, TEMPLATE_SID, None)
    assert json.loads(template.content_variables or "") == {"1": "Jane"}
    count = len(fake.sent)
    await lead.later(2 * DAY)  # no template for the last step: skipped
    assert len(fake.sent) == count

    conv = await lead.conversation("whatsapp")
    assert steps_of(follow_ups_in(conv)) == [(0, "mid_qualification"), (1, "mid_qualification")]
    assert follow_ups_in(conv)[1]["delivery"] == "queued"
    note = conv["messages"][-1]
    assert (note["from"], note["private"]) == ("system", True)
    assert note["text"].startswith("Follow-up 3 not sent: WhatsApp's 24-hour window is closed")


async def test_a_step_due_in_quiet_hours_waits_until_they_end(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    monday_evening = ManualClock(datetime(2025, 1, 6, 20, 30, tzinfo=UTC))
    nurture = {"steps": STEPS[:2], "quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "UTC"}}
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, monday_evening, nurture=nurture)
    await lead.rig.text(LEAD, OPENING)

    await lead.later(HOUR)  # 21:30: quiet
    await lead.later(10 * HOUR + 29 * MINUTE)  # 07:59
    assert len(lead.sent) == 1
    await lead.later(MINUTE)  # 08:00
    assert lead.sent[1:] == ["Still there, Jane?"]
    # The next step still counts from the silence's start: Tuesday 20:30, before the quiet hours.
    await lead.later(12 * HOUR + 29 * MINUTE)
    assert len(lead.sent) == 2
    await lead.later(MINUTE)
    assert lead.sent[2:] == ["Hi Jane, two quick questions left."]


async def test_a_step_due_outside_business_hours_waits_for_the_team_to_open(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    friday_afternoon = ManualClock(datetime(2025, 1, 10, 15, 30, tzinfo=UTC))  # 16:30 in Berlin
    week = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    lead = await texting(
        aiohttp_server,
        aiohttp_client,
        tmp_path,
        friday_afternoon,
        business_hours={"timezone": "Europe/Berlin", "week": week},
        nurture={"steps": STEPS[:1], "business_hours_only": True},
    )
    await lead.rig.text(LEAD, OPENING)
    await lead.later(HOUR)  # Friday 17:30 in Berlin: closed
    await lead.later(timedelta(days=2, hours=15, minutes=29))  # Monday 08:59 in Berlin
    assert len(lead.sent) == 1
    await lead.later(MINUTE)  # Monday 09:00 in Berlin
    assert lead.sent[1:] == ["Still there, Jane?"]


async def test_after_an_unqualified_close_only_the_unqualified_steps_run_once(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    steps = [
        STEPS[0],
        {"after": "1d", "when": ["unqualified"], "text": "Thanks again, {name|there}. Reply if it changes."},
    ]
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": steps})
    for answer in ("Just looking around", "Tiny Co", "just me", "$200 per month", "maybe next year"):
        await lead.rig.text(LEAD, answer)
    await lead.rig.text(LEAD, "no, my boss decides")
    await lead.rig.text(LEAD, "Ann")
    [close] = await lead.rig.text(LEAD, "ann@tiny.co")
    assert "Thanks for your time" in close
    conv = await lead.conversation()
    assert (conv["mode"], conv["lead"]["status"]) == ("closed", "unqualified")

    await lead.later(DAY - MINUTE)  # the mid-qualification step does not apply
    assert lead.sent[-1] == close
    await lead.later(MINUTE)
    assert lead.sent[-1] == "Thanks again, Ann. Reply if it changes."
    [closed] = await lead.rig.text(LEAD, "hello?")  # the bot answers; the steps do not start again
    assert "closed" in closed
    await lead.later(5 * DAY)
    assert lead.sent[-1] == closed
    assert steps_of(follow_ups_in(await lead.conversation())) == [(1, "unqualified")]


async def test_a_pending_follow_up_survives_a_restart(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    first = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    [asked] = await first.rig.text(LEAD, OPENING)
    await first.rig.client.close()  # graceful shutdown writes the embedded store to disk

    first.clock.advance(2 * HOUR.total_seconds())
    second = await texting(aiohttp_server, aiohttp_client, tmp_path, first.clock, nurture={"steps": STEPS})
    await second.later(timedelta(0))
    assert second.sent == ["Still there, Jane?"]
    await second.later(DAY)
    assert second.sent[1:] == ["Hi Jane, two quick questions left."]
    assert first.sent == [asked]


async def test_a_web_visitor_finds_the_follow_up_when_they_come_back(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    app = create_app(
        make_settings(tmp_path / "data"),
        clock=clock.now,
        timers=clock,
        flows=flows_with(nurture={"steps": STEPS}),
    )
    client = await aiohttp_client(app)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await later(app, clock, 2 * HOUR)  # a visitor who never wrote gets no follow-ups
    assert follow_ups_in(await api_get(client, f"/api/conversations/{visitor.conversation_id}")) == []
    asked = await visitor.say("We need a CRM, I'm Jane")
    await visitor.close()

    await later(app, clock, HOUR)
    back = await Visitor.connect(client, token=visitor.token, after_seq=asked["seq"])
    nudge = await back.next_frame("message")
    assert (nudge["from"], nudge["text"]) == ("bot", "Still there, Jane?")
    await later(app, clock, DAY - HOUR)  # while the widget is open it arrives live
    live = await back.next_frame("message")
    assert live["text"] == "Hi Jane, two quick questions left."
    await back.close()


async def test_flow_validation_names_bad_follow_up_and_decay_fields(client: TestClient[Any, Any]) -> None:
    async def problems(**sections: Any) -> dict[str, str]:
        body = {**(await api_get(client, "/api/flows/default"))["live"], **sections}
        answer = await api_call(client, "POST", "/api/flows/validate", body, headers=AUTH)
        return {p["path"]: p["message"] for p in answer["problems"]}

    found = await problems(
        nurture={
            "steps": [
                {"after": "3x", "text": "a"},
                {"after": 3, "text": "b"},
                {"after": "0h", "text": "c"},
                {"after": "200d", "text": "d"},
                {"after": "1h", "text": "  "},
                {"after": "1h", "text": "hi {name", "when": ["later"]},
            ],
            "quiet_hours": {"start": 1260, "end": "25:00"},
        },
        decay={"after": "2 weeks", "every": "7d", "points": 0},
    )
    assert "'3x' is not a duration" in found["nurture.steps.0.after"]
    assert "3 has no unit" in found["nurture.steps.1.after"]
    assert "no time at all" in found["nurture.steps.2.after"]
    assert "too long; at most 90 days" in found["nurture.steps.3.after"]
    assert "write the text" in found["nurture.steps.4.text"]
    assert "{slot|fallback}" in found["nurture.steps.5.text"]
    assert "nurture.steps.5.when.0" in found
    assert "write times in quotes" in found["nurture.quiet_hours.start"]
    assert "not a time of day" in found["nurture.quiet_hours.end"]
    assert "'2 weeks' is not a duration" in found["decay.after"]
    assert "decay.points" in found

    in_order = await problems(nurture={"steps": [{"after": "1d", "text": "a"}, {"after": "1h", "text": "b"}]})
    assert in_order == {"nurture.steps.1.after": in_order["nurture.steps.1.after"]}
    assert "1h must come after step 0's 1d" in in_order["nurture.steps.1.after"]
    assert await problems(nurture={"steps": [{"after": "1h", "text": "Hi {nickname|there}"}]}) == {
        "nurture.steps.0.text": "unknown slot 'nickname'"
    }
    hours_only = await problems(nurture={"steps": STEPS, "business_hours_only": True})
    assert "no business_hours to keep to" in hours_only["nurture.business_hours_only"]
    no_zone = await problems(nurture={"steps": STEPS, "quiet_hours": {"start": "21:00", "end": "08:00"}})
    assert "give a time zone" in no_zone["nurture.quiet_hours.timezone"]
    assert await problems(nurture={"steps": STEPS}, decay={"after": "14d", "every": "7d", "points": 10}) == {}


def test_version_history_describes_follow_up_and_decay_changes() -> None:
    decay = {"after": "14d", "every": "7d", "points": 10, "floor": 20}
    before = parse_flow(default_flow_data())
    added = parse_flow(default_flow_data(nurture={"steps": STEPS}, decay=decay))
    assert describe_changes(before, added) == [
        "follow-ups added: 1h, 1d, 3d",
        "score decay added: −10 after 14 days without a reply, then every 7 days, down to 20",
    ]
    steps = [
        {**STEPS[0], "after": "2h"},
        {**STEPS[1], "text": "Hello again", "whatsapp": {"template_sid": TEMPLATE_SID}},
    ]
    quiet = {"start": "21:00", "end": "08:00", "timezone": "Europe/Berlin"}
    changed = parse_flow(
        default_flow_data(nurture={"steps": steps, "quiet_hours": quiet}, decay={**decay, "points": 5})
    )
    assert describe_changes(added, changed) == [
        "follow-up 1: after 1h → 2h",
        "follow-up 2: text changed",
        "follow-up 2: WhatsApp template added",
        "follow-up 3 removed",
        "follow-ups quiet hours none → 21:00–08:00 (Europe/Berlin)",
        "score decay −10 after 14 days without a reply, then every 7 days, down to 20 → "
        "−5 after 14 days without a reply, then every 7 days, down to 20",
    ]
    assert describe_changes(changed, before) == ["follow-ups removed", "score decay removed"]


async def test_the_lead_writing_on_another_channel_stops_the_first_channels_follow_ups(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, nurture={"steps": STEPS})
    [asked] = await lead.rig.text(LEAD, OPENING)
    await lead.later(30 * MINUTE)
    await lead.rig.twilio.whatsapp(LEAD, "Hi, it's Jane again, from WhatsApp this time")  # the same lead
    await lead.later(timedelta(0))
    sms, whatsapp = await lead.conversation("sms"), await lead.conversation("whatsapp")
    assert sms["lead_id"] == whatsapp["lead_id"]

    await lead.later(5 * DAY)  # the SMS silence's steps fall due: the lead has written since
    assert lead.sent == [asked]
    assert follow_ups_in(await lead.conversation("sms")) == []


async def test_a_lead_who_wrote_by_email_gets_the_follow_ups_by_email_in_the_thread(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    with SmtpSink() as sink:
        client = await emailing(aiohttp_client, tmp_path, sink, clock)
        app = client.app
        first = Mail(subject="A better CRM", text=OPENING)
        conv_id = (await send_mail(client, first))["conversation_id"]
        asked = await sink.next_mail()
        assert "Which company are you with?" in asked.part("text/plain")

        await later(app, clock, HOUR - MINUTE)
        assert sink.received_nothing_more()
        await later(app, clock, MINUTE)
        nudge = await sink.next_mail()
        assert nudge.part("text/plain").startswith("Still there, Jane?")
        assert nudge.rcpt_tos == ["jane@acme.io"]
        # Threaded like the bot's other mails: an answer to the lead's mail, with the same Reply-To.
        assert_in_thread(nudge, first, asked)
        # The lead's out-of-office answers it: a machine wrote that, not the lead; the steps go on.
        away = reply_from_lead(
            nudge, "I'm away until Monday.", extra_headers={"Auto-Submitted": "auto-replied"}
        )
        assert "ignored" in await send_mail(client, away)
        await later(app, clock, DAY - HOUR)
        second = await sink.next_mail()
        assert second.part("text/plain").startswith("Hi Jane, two quick questions left.")
        assert_in_thread(second, first, asked)
        assert sink.received_nothing_more()

        conv = await conversation(client, conv_id)
        sent = follow_ups_in(conv)
        assert steps_of(sent) == [(0, "mid_qualification"), (1, "mid_qualification")]
        assert [m["delivery"] for m in sent] == ["queued", "queued"]


async def test_a_reply_by_email_cancels_the_next_follow_up(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    with SmtpSink() as sink:
        client = await emailing(aiohttp_client, tmp_path, sink, clock)
        app = client.app
        first = Mail(subject="A better CRM", text=OPENING)
        conv_id = (await send_mail(client, first))["conversation_id"]
        await sink.next_mail()
        await later(app, clock, HOUR)
        nudge = await sink.next_mail()
        assert nudge.part("text/plain").startswith("Still there, Jane?")

        await later(app, clock, HOUR)
        answer = reply_from_lead(nudge, "Sorry, busy day. We're Acme.")
        assert (await send_mail(client, answer))["conversation_id"] == conv_id  # the nudge's thread
        asked = await sink.next_mail()
        assert "How many people are on your team?" in asked.part("text/plain")
        assert str(asked.message["In-Reply-To"]) == answer.message_id

        # The first silence's next step (a day after the first question) does not go: the lead
        # answered. The new question starts a silence of its own, counted from the answer.
        await later(app, clock, HOUR)
        again = await sink.next_mail()
        assert again.part("text/plain").startswith("Still there, Jane?")
        assert str(again.message["In-Reply-To"]) == answer.message_id
        await later(app, clock, DAY - 2 * HOUR)  # a day after the first question
        assert sink.received_nothing_more()
        await later(app, clock, HOUR)  # a day after the answer's question
        last = await sink.next_mail()
        assert last.part("text/plain").startswith("Hi Jane, two quick questions left.")
        assert sink.received_nothing_more()

        conv = await conversation(client, conv_id)
        runs = [m["meta"]["follow_up"]["run"] for m in follow_ups_in(conv)]
        assert steps_of(follow_ups_in(conv)) == [(0, "mid_qualification")] * 2 + [(1, "mid_qualification")]
        assert runs[0] != runs[1] == runs[2]


async def emailing(
    aiohttp_client: ClientFactory, tmp_path: Path, sink: SmtpSink, clock: ManualClock
) -> TestClient[Any, Any]:
    """leadbot with follow-ups, on a manual clock, its email channel sending to `sink`."""
    settings = email_settings(tmp_path / "data", sink.port)
    flows = flows_with(nurture={"steps": STEPS})
    return await aiohttp_client(create_app(settings, clock=clock.now, timers=clock, flows=flows))


def assert_in_thread(mail: ReceivedMail, first: Mail, asked: ReceivedMail) -> None:
    """`mail` answers the lead's `first` mail, as `asked` (the bot's reply to it) does."""
    assert str(mail.message["In-Reply-To"]) == first.message_id
    assert str(mail.message["References"]).split() == [first.message_id]
    assert str(mail.message["Subject"]) == f"Re: {first.subject}"
    assert mail.message["Reply-To"] == asked.message["Reply-To"]
    assert mail.message["Message-ID"] not in (asked.message["Message-ID"], None)
    # The bot's reply answers the lead; a follow-up is generated (RFC 3834): neither is answered
    # by the lead's autoresponder.
    assert (asked.message["Auto-Submitted"], mail.message["Auto-Submitted"]) == (
        "auto-replied",
        "auto-generated",
    )
