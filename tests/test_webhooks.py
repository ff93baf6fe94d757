"""CRM webhooks end to end: real conversations make lead events, which reach a loopback receiver
signed (checked with `verify`), are retried with backoff on a manual clock, fail for good, show
in the failures view, and are redelivered. Plus the endpoints API: input, secrets, audit, roles."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.clock import ManualClock
from bot.lead_events import WEBHOOK_KINDS, LeadEvent
from bot.webhooks.sender import ANSWER_CHARS, post
from bot.webhooks.service import RETRY
from tests.conftest import AUTH, ClientFactory, api_call, api_get, make_settings, settle
from tests.support.agents import make_agent
from tests.support.fake_twilio import Rig, start_rig
from tests.support.inbox import Agent, add_user
from tests.support.mongo_wire import MongoWireStandIn
from tests.support.visitor import Visitor
from tests.support.webhook_receiver import Receiver, ServerFactory, start_receiver

QUALIFYING = [
    "We need to automate our lead follow-ups",
    "Sure! It's Stark Industries",
    "about fifty",
    "ten grand a month",
    "ASAP",
    "I'm the CTO, it's my call",
    "my name is Tony Stark",
    "tony@stark.com",
    "(415) 555-0100",
]


@dataclass
class Rigged:
    client: TestClient[Any, Any]
    clock: ManualClock
    receiver: Receiver

    @property
    def app(self) -> Any:
        return self.client.app

    async def endpoint(self, events: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        """A new endpoint pointing at the receiver, which now checks its secret."""
        body = {"url": self.receiver.url, "events": events or list(WEBHOOK_KINDS), **fields}
        created: dict[str, Any] = await api_call(self.client, "POST", "/api/webhooks", body, status=201)
        self.receiver.secrets.append(created["secret"])
        return created

    async def settle(self) -> None:
        """Bot turns done, and every job due now run."""
        await settle(self.app)
        await self.app[keys.JOBS].idle()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.app[keys.JOBS].idle()

    async def deliveries(self, query: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await api_get(self.client, f"/api/webhooks/deliveries{query}"))[
            "items"
        ]
        return items


@pytest.fixture
async def rig(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> AsyncIterator[Rigged]:
    clock = ManualClock()
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data"), clock=clock.now, timers=clock))
    receiver = await start_receiver(aiohttp_server, clock.now)
    yield Rigged(client, clock, receiver)
    assert receiver.refused == []  # every request leadbot sent was signed correctly


async def qualify(rig: Rigged) -> Visitor:
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    for answer in QUALIFYING:
        await visitor.say(answer)
    await rig.settle()
    return visitor


# -- events of real conversations ---------------------------------------------------------


async def test_a_real_conversations_lead_events_arrive_signed_in_order(rig: Rigged) -> None:
    await rig.endpoint()
    visitor = await qualify(rig)

    events = rig.receiver.events()
    assert events[0] == "lead.created"
    assert events.count("lead.updated") == len(QUALIFYING)  # each answer changed the lead
    assert events[-3:] == ["lead.updated", "lead.qualified", "conversation.handed_off"]
    bodies = [r.json for r in rig.receiver.received]
    conv = await api_get(rig.client, f"/api/conversations/{visitor.conversation_id}")
    assert {b["lead"]["id"] for b in bodies} == {conv["lead_id"]}
    assert {b["conversation"]["id"] for b in bodies} == {visitor.conversation_id}
    assert [b["kind"] for b in bodies] == events
    created, qualified, handed_off = bodies[0], bodies[-2], bodies[-1]
    assert created["lead"]["status"] == "new" and created["details"] == {"channel": "web"}
    assert qualified["lead"]["status"] == "qualified" and qualified["details"] == {"score": 100, "grade": "A"}
    assert qualified["lead"]["slots"]["email"] == "tony@stark.com"
    assert (
        handed_off["details"]["reason"] == "qualified"
        and handed_off["conversation"]["mode"] == "pending_human"
    )
    first_answer = bodies[1]
    assert first_answer["details"]["changed"] == ["need", "status"]  # new → engaged
    assert first_answer["occurred_at"] == rig.clock.now().isoformat()

    deliveries = await rig.deliveries()
    assert len(deliveries) == len(events) and {d["status"] for d in deliveries} == {"delivered"}
    assert {r.delivery for r in rig.receiver.received} == {d["id"] for d in deliveries}  # one each
    one = await api_get(rig.client, f"/api/webhooks/deliveries/{deliveries[0]['id']}")
    sent = next(r for r in rig.receiver.received if r.delivery == one["id"])
    assert one["body"] == sent.body.decode()  # the body as sent
    assert [a["status_code"] for a in one["attempts"]] == [200] and one["attempts"][0]["error"] is None


async def test_only_the_kinds_an_endpoint_subscribed_to_reach_it(rig: Rigged) -> None:
    await rig.endpoint(["lead.qualified"])
    paused = await rig.endpoint(["lead.created"])
    await api_call(rig.client, "PATCH", f"/api/webhooks/{paused['id']}", {"active": False})
    await qualify(rig)
    assert rig.receiver.events() == ["lead.qualified"]


async def test_one_endpoints_overrides_do_not_change_what_another_receives(rig: Rigged) -> None:
    hides_email = {"preset": "leadbot", "overrides": {"lead.slots.email": {"from": "details.nothing"}}}
    await rig.endpoint(["lead.updated"], mapping=hides_email)
    plain = await rig.endpoint(["lead.updated"])
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await visitor.say("write to me at pepper@stark.com")
    await rig.settle()

    by_delivery = {r.delivery: r.json for r in rig.receiver.received}
    [to_plain] = await rig.deliveries(f"?endpoint={plain['id']}")
    [to_hiding] = [d for d in await rig.deliveries() if d["id"] != to_plain["id"]]
    assert by_delivery[to_plain["id"]]["lead"]["slots"]["email"] == "pepper@stark.com"
    assert "email" not in by_delivery[to_hiding["id"]]["lead"]["slots"]


async def test_a_hubspot_endpoint_gets_the_qualified_lead_as_contact_properties(rig: Rigged) -> None:
    await rig.endpoint(["lead.qualified"], mapping={"preset": "hubspot_contact"})
    await qualify(rig)
    [received] = rig.receiver.received
    assert received.json == {
        "properties": {
            "email": "tony@stark.com",
            "firstname": "Tony",
            "lastname": "Stark",
            "phone": "+14155550100",
            "company": "Stark Industries",
            "hs_lead_status": "OPEN",
            "lifecyclestage": "salesqualifiedlead",
        }
    }


async def test_agents_closing_a_conversation_and_leads_merging_are_lead_events(rig: Rigged) -> None:
    seen: list[LeadEvent] = []

    async def listen(event: LeadEvent) -> None:
        seen.append(event)

    rig.app[keys.LEAD_EVENTS].listen(listen)
    first = await Visitor.connect(rig.client)
    await first.greeting()
    await first.say("my email is pat@example.com")
    second = await Visitor.connect(rig.client)
    await second.greeting()
    await second.say("I'm pat@example.com, talk to a human please")
    await rig.settle()
    merged = [e for e in seen if e.kind == "lead.updated" and "merged_from" in e.details]
    assert len(merged) == 1 and merged[0].lead.id != merged[0].details["merged_from"]
    _, headers = await make_agent(rig.app, "ada@example.com", role="admin")
    await api_call(rig.client, "POST", f"/api/conversations/{second.conversation_id}/claim", headers=headers)
    await api_call(
        rig.client,
        "POST",
        f"/api/conversations/{second.conversation_id}/close",
        {"outcome": "converted", "value": 1200},
        headers=headers,
    )
    [closed] = [e for e in seen if e.kind == "conversation.closed"]
    assert closed.conversation is not None and closed.conversation.id == second.conversation_id
    assert closed.details["by"] == "agent" and closed.details["outcome"] == "converted"


async def test_the_bot_closing_an_unqualified_conversation_is_a_lead_event(rig: Rigged) -> None:
    seen: list[LeadEvent] = []

    async def listen(event: LeadEvent) -> None:
        seen.append(event)

    rig.app[keys.LEAD_EVENTS].listen(listen)
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    for answer in ["Just looking around", "Tiny Co", "just me", "$200 per month", "maybe next year"]:
        await visitor.say(answer)
    for answer in ["no, my boss decides", "Ann", "ann@tiny.co", "skip"]:
        await visitor.say(answer)
    await rig.settle()
    assert [e.kind for e in seen if e.kind.startswith("conversation.")] == ["conversation.closed"]
    [closed] = [e for e in seen if e.kind == "conversation.closed"]
    assert closed.details == {"by": "bot"} and closed.lead.status == "unqualified"
    assert "lead.qualified" not in [e.kind for e in seen]


async def test_a_new_texter_is_a_new_lead_but_a_known_phone_is_not(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig: Rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")
    receiver = await start_receiver(aiohttp_server, rig.app[keys.CLOCK])
    created = await api_call(
        rig.client, "POST", "/api/webhooks", {"url": receiver.url, "events": ["lead.created"]}, status=201
    )
    receiver.secrets.append(created["secret"])
    await rig.text("+14155550100", "Hi, we need to automate our lead follow-ups")
    await rig.text("+14155550100", "Stark Industries")
    await receiver.wait_for(1)
    body = receiver.received[0].json
    assert body["conversation"]["channel"] == "sms" and body["lead"]["slots"]["phone"] == "+14155550100"

    # The same phone, given in the widget first, then texting: one person, so one lead.created.
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await visitor.say("We need a CRM, call me on (415) 555-0111")
    await rig.text("+14155550111", "Hi, it's me again from the website")
    await receiver.wait_for(2)
    await settle(rig.app)
    await rig.app[keys.JOBS].idle()
    assert [r.json["conversation"]["channel"] for r in receiver.received] == ["sms", "web"]
    assert receiver.refused == []


# -- retries, failures and redelivery ------------------------------------------------------


async def test_a_receiver_failing_twice_gets_the_third_attempt_after_the_backoff(rig: Rigged) -> None:
    await rig.endpoint(["lead.created"])
    rig.receiver.answers = [500, 503]
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await rig.settle()
    assert len(rig.receiver.received) == 1
    [retrying] = await rig.deliveries("?status=problems")
    assert retrying["status"] == "pending" and retrying["attempt_count"] == 1
    assert retrying["last_error"] == "HTTP 500: the CRM says no (500)"
    next_at = datetime.fromisoformat(retrying["next_attempt_at"])
    assert timedelta(seconds=54) <= next_at - rig.clock.now() <= timedelta(seconds=66)  # 1 min ± 10%

    await rig.advance(50)
    assert len(rig.receiver.received) == 1  # not before the backoff
    await rig.advance(20)
    assert len(rig.receiver.received) == 2
    await rig.advance(100)  # the second wait is 2 minutes ± 10%
    assert len(rig.receiver.received) == 2
    await rig.advance(40)
    assert len(rig.receiver.received) == 3

    first, second, third = rig.receiver.received
    assert first.delivery == second.delivery == third.delivery  # one delivery, three attempts
    assert first.body == second.body == third.body
    assert len({first.signature, second.signature, third.signature}) == 3  # each signed when sent
    delivery = await api_get(rig.client, f"/api/webhooks/deliveries/{first.delivery}")
    assert delivery["status"] == "delivered" and delivery["next_attempt_at"] is None
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert {a["trigger"] for a in delivery["attempts"]} == {"automatic"}
    assert await rig.deliveries("?status=problems") == []


async def test_the_deliveries_list_reads_only_its_own_leads_jobs(
    rig: Rigged, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry times shown come from the jobs of the leads on the page: the list never reads
    the whole job queue (every follow-up, retry and delivery of every lead) per request."""
    await rig.endpoint(["lead.created"])
    rig.receiver.answers = [500] * 3
    for _ in range(3):
        visitor = await Visitor.connect(rig.client)
        await visitor.greeting()
    await rig.settle()
    jobs = rig.app[keys.JOBS]
    reads: list[str | None] = []
    pending = jobs.pending

    async def spied(*, subject: str | None = None, kind: str | None = None) -> list[Any]:
        reads.append(subject)
        found: list[Any] = await pending(subject=subject, kind=kind)
        return found

    monkeypatch.setattr(jobs, "pending", spied)

    [first] = await rig.deliveries("?status=problems&limit=1")
    one = await api_get(rig.client, f"/api/webhooks/deliveries/{first['id']}")

    assert first["next_attempt_at"] is not None and one["next_attempt_at"] == first["next_attempt_at"]
    assert reads == [first["lead_id"], first["lead_id"]]


async def test_used_up_attempts_fail_then_a_redelivery_delivers(rig: Rigged) -> None:
    await rig.endpoint(["lead.created"])
    rig.receiver.answers = [500] * RETRY.attempts
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await rig.settle()
    for _ in range(RETRY.attempts):
        await rig.advance(RETRY.max_delay_seconds * 1.2)
    assert len(rig.receiver.received) == RETRY.attempts

    [failed] = await rig.deliveries("?status=failed")
    assert failed["attempt_count"] == RETRY.attempts and failed["next_attempt_at"] is None
    assert (await rig.deliveries("?status=problems")) == [failed]
    assert failed["kind"] == "lead.created" and failed["last_error"].startswith("HTTP 500")

    redelivered = await api_call(rig.client, "POST", f"/api/webhooks/deliveries/{failed['id']}/redeliver")
    assert redelivered["status"] == "delivered"
    assert len(redelivered["attempts"]) == RETRY.attempts + 1  # the history is kept
    assert (
        redelivered["attempts"][-1]["trigger"] == "manual"
        and redelivered["attempts"][-1]["status_code"] == 200
    )
    assert rig.receiver.received[-1].delivery == failed["id"]
    assert await rig.deliveries("?status=failed") == []


async def test_a_leads_deliveries_never_overtake_each_other(rig: Rigged) -> None:
    await rig.endpoint(["lead.created", "lead.updated"])
    rig.receiver.answers = [500]
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await rig.settle()
    await visitor.say("We need to automate our lead follow-ups")
    await rig.settle()
    assert rig.receiver.events() == ["lead.created"]  # the update waits behind the retrying one
    waiting = [d for d in await rig.deliveries() if d["kind"] == "lead.updated"]
    assert waiting[0]["status"] == "pending" and waiting[0]["waiting_for_earlier"] is True

    await rig.advance(70)
    assert rig.receiver.events() == ["lead.created", "lead.created", "lead.updated"]
    assert {d["status"] for d in await rig.deliveries()} == {"delivered"}


async def test_a_delivery_whose_last_run_died_fails_and_the_next_one_goes(
    aiohttp_client: ClientFactory,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    wire_server: MongoWireStandIn,
) -> None:
    """The last attempt's process dies mid-request: another process takes the job over when its
    lease runs out, finds no attempt left and fails it, and the delivery must fail with it, not
    stay pending and hold back the lead's later deliveries. Two processes share one database (the
    wire stand-in) and one clock; a process never takes over a job it is still running itself."""
    clock = ManualClock()
    env = {"MONGODB_URI": wire_server.uri, "LEADBOT_DATABASE": f"died_{secrets.token_hex(4)}"}
    apps = [
        await aiohttp_client(create_app(make_settings(tmp_path / name, **env), clock=clock.now, timers=clock))
        for name in ("a", "b")
    ]
    rig = Rigged(apps[0], clock, await start_receiver(aiohttp_server, clock.now))

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        for app in apps:
            await app.app[keys.JOBS].idle()

    await rig.endpoint(["lead.created", "lead.updated"])
    rig.receiver.answers = [500] * (RETRY.attempts - 1)
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await rig.settle()
    await visitor.say("We need to automate our lead follow-ups")
    await rig.settle()
    for _ in range(RETRY.attempts - 2):
        await advance(RETRY.max_delay_seconds * 1.2)
    await rig.receiver.wait_for(RETRY.attempts - 1)
    assert rig.receiver.events() == ["lead.created"] * (RETRY.attempts - 1)

    gate = asyncio.Event()
    rig.receiver.hold = gate  # the last attempt hangs, as if its process had died
    try:
        clock.advance(RETRY.max_delay_seconds * 1.2)
        await rig.receiver.wait_for(RETRY.attempts)
        # Its lease runs out: the other process takes the job over, with no attempt left to make.
        clock.advance(61)
        await rig.receiver.wait_for(RETRY.attempts + 1)

        assert rig.receiver.events()[-1] == "lead.updated"  # the next delivery went
        by_kind = {d["kind"]: d for d in await rig.deliveries()}
        created, updated = by_kind["lead.created"], by_kind["lead.updated"]
        assert created["status"] == "failed" and "cut short" in created["last_error"], created
        assert updated["status"] == "delivered"
    finally:
        gate.set()
        await visitor.close()
        for app in apps:
            await settle(app.app)
            await app.app[keys.JOBS].idle()


async def test_a_pending_delivery_that_lost_its_job_gets_one_when_the_app_starts(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = make_settings(tmp_path / "data")
    first = await aiohttp_client(create_app(settings, clock=clock.now, timers=clock))
    rig = Rigged(first, clock, await start_receiver(aiohttp_server, clock.now))
    await rig.endpoint(["lead.created"])
    rig.receiver.answers = [500]
    visitor = await Visitor.connect(first)
    await visitor.greeting()
    await rig.settle()
    [delivery] = await rig.deliveries()
    assert delivery["status"] == "pending"
    # Its job is gone (a Redis without persistence restarted; a failure no process recorded).
    assert await first.app[keys.JOBS].cancel(f"webhook:{delivery['id']}")
    await visitor.close()
    await first.close()

    second = await aiohttp_client(create_app(settings, clock=clock.now, timers=clock))
    await second.app[keys.JOBS].idle()

    assert len(rig.receiver.received) == 2 and rig.receiver.received[-1].delivery == delivery["id"]
    after = await api_get(second, f"/api/webhooks/deliveries/{delivery['id']}")
    assert after["status"] == "delivered"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_endpoint_and_a_paused_one(rig: Rigged) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    endpoint = await api_call(
        rig.client, "POST", "/api/webhooks", {"url": url, "events": ["lead.created"]}, status=201
    )
    tested = await api_call(rig.client, "POST", f"/api/webhooks/{endpoint['id']}/test")
    assert tested["status"] == "failed" and tested["attempts"][0]["status_code"] is None
    assert "Connect" in tested["last_error"]
    await api_call(rig.client, "PATCH", f"/api/webhooks/{endpoint['id']}", {"active": False})
    refused = await api_call(
        rig.client, "POST", f"/api/webhooks/deliveries/{tested['id']}/redeliver", status=409
    )
    assert "paused" in refused["message"]


# -- the endpoints API ----------------------------------------------------------------------


async def test_a_test_event_goes_now_mapped_as_the_endpoint_maps(rig: Rigged) -> None:
    endpoint = await rig.endpoint(["lead.qualified"], mapping={"preset": "salesforce_lead"})
    delivery = await api_call(rig.client, "POST", f"/api/webhooks/{endpoint['id']}/test")
    assert delivery["status"] == "delivered" and delivery["kind"] == "webhook.test"
    [received] = rig.receiver.received
    assert received.event == "webhook.test" and received.delivery == delivery["id"]
    assert received.json["LastName"] == "Example" and received.json["Company"] == "Example Corp"
    preview = await api_call(
        rig.client, "POST", "/api/webhooks/preview", {"mapping": {"preset": "salesforce_lead"}}
    )
    assert preview["body"] == received.json  # the form's preview is what the test sent


async def test_endpoints_are_listed_changed_rotated_and_deleted_with_an_audit_trail(rig: Rigged) -> None:
    created = await api_call(
        rig.client,
        "POST",
        "/api/webhooks",
        {
            "url": rig.receiver.url + "?token=crm-side-secret",
            "events": ["lead.qualified", "lead.created"],
            "description": "Our HubSpot",
            "mapping": {
                "preset": "hubspot_contact",
                "overrides": {"properties.leadbot_id": {"from": "lead.id"}},
            },
        },
        status=201,
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == ["lead.created", "lead.qualified"]
    listed = await api_get(rig.client, "/api/webhooks")
    assert listed["events"] == list(WEBHOOK_KINDS) and "hubspot_contact" in listed["presets"]
    [shown] = listed["endpoints"]
    assert "secret" not in shown and shown["mapping"]["overrides"] == {
        "properties.leadbot_id": {"from": "lead.id"}
    }
    assert (await api_get(rig.client, f"/api/webhooks/{created['id']}/secret"))["secret"] == secret

    rotated = await api_call(rig.client, "POST", f"/api/webhooks/{created['id']}/secret/rotate")
    assert rotated["secret"] != secret and rotated["previous_secret_until"] is not None
    rig.receiver.secrets.append(secret)  # a receiver still on the old secret …
    await api_call(rig.client, "POST", f"/api/webhooks/{created['id']}/test")
    assert rig.receiver.received[-1].signature.count("v1=") == 2  # … verifies during the grace period
    rig.receiver.secrets = [rotated["secret"]]  # the receiver moved on
    rig.clock.advance(25 * 3600)
    await api_call(rig.client, "POST", f"/api/webhooks/{created['id']}/test")
    assert rig.receiver.received[-1].signature.count("v1=") == 1  # after a day only the new one signs

    updated = await api_call(
        rig.client, "PATCH", f"/api/webhooks/{created['id']}", {"active": False, "description": "Old HubSpot"}
    )
    assert updated["active"] is False and updated["events"] == ["lead.created", "lead.qualified"]
    await api_call(rig.client, "DELETE", f"/api/webhooks/{created['id']}")
    await api_get(rig.client, f"/api/webhooks/{created['id']}", status=404)
    assert await rig.deliveries() == []  # its deliveries went with it

    audit = (await api_get(rig.client, "/api/audit"))["items"]
    actions = [e["action"] for e in audit if e["action"].startswith("webhook.")]
    assert sorted(actions) == ["webhook.create", "webhook.delete", "webhook.rotate_secret", "webhook.update"]
    filed = (await api_get(rig.client, "/api/audit?kind=webhooks"))["items"]
    assert sorted(e["action"] for e in filed) == sorted(actions)  # their own kind …
    assert {e["kind"] for e in filed} == {"webhooks"}
    flows = (await api_get(rig.client, "/api/audit?kind=flows"))["items"]
    assert not [e for e in flows if e["action"].startswith("webhook.")]  # … not flow changes
    text = repr(audit)
    assert secret not in text and rotated["secret"] not in text and "crm-side-secret" not in text
    update = next(e for e in audit if e["action"] == "webhook.update")
    assert "paused" in update["changes"] and "description: Our HubSpot → Old HubSpot" in update["changes"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"events": ["lead.created"]}, "url", "the url is required"),
        ({"url": "ftp://crm.example.com/x", "events": ["lead.created"]}, "url", "https://"),
        ({"url": "https://", "events": ["lead.created"]}, "url", "no host"),
        (
            {"url": "https://bob:pw@crm.example.com/x", "events": ["lead.created"]},
            "url",
            "no user name or password",
        ),
        ({"url": "https://crm.example.com:99999/x", "events": ["lead.created"]}, "url", "not valid"),
        ({"url": "https://crm.example.com/x", "events": []}, "events", "at least one"),
        (
            {"url": "https://crm.example.com/x", "events": ["message.sent"]},
            "events",
            "unknown event 'message.sent'",
        ),
        (
            {"url": "https://crm.example.com/x", "events": ["lead.created"], "secret": "mine"},
            "secret",
            "unknown field",
        ),
        (
            {"url": "https://crm.example.com/x", "events": ["lead.created"], "active": "yes"},
            "active",
            "true or false",
        ),
        (
            {"url": "https://crm.example.com/x", "events": ["lead.created"], "mapping": {"preset": "zoho"}},
            "mapping.preset",
            "must be one of",
        ),
    ],
)
async def test_bad_endpoint_input_is_a_clear_400(
    client: TestClient[Any, Any], body: dict[str, Any], field: str, words: str
) -> None:
    answer = await api_call(client, "POST", "/api/webhooks", body, status=400)
    assert answer["error"] == "bad_request" and answer["field"] == field and words in answer["message"]
    assert (await api_get(client, "/api/webhooks"))["endpoints"] == []  # nothing was kept


async def test_bad_ids_queries_and_bodies(client: TestClient[Any, Any]) -> None:
    await api_get(client, "/api/webhooks/nope", status=404)
    await api_call(client, "PATCH", "/api/webhooks/nope", {"active": False}, status=404)
    await api_call(client, "POST", "/api/webhooks/deliveries/nope/redeliver", status=404)
    await api_get(client, "/api/webhooks/deliveries?status=broken", status=400)
    await api_get(client, "/api/webhooks/deliveries?limit=0", status=400)
    response = await client.post(
        "/api/webhooks", data="[1]", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status == 400 and "JSON object" in (await response.json())["message"]


async def test_only_admins_manage_webhooks(client: TestClient[Any, Any]) -> None:
    _, agent = await make_agent(client.app, "agent@example.com")
    for method, path in [
        ("GET", "/api/webhooks"),
        ("POST", "/api/webhooks"),
        ("GET", "/api/webhooks/deliveries"),
        ("POST", "/api/webhooks/deliveries/x/redeliver"),
        ("POST", "/api/webhooks/x/secret/rotate"),
    ]:
        refused = await api_call(client, method, path, {}, status=403, headers=agent)
        assert "only admins manage webhooks" in refused["message"]
        assert (await client.request(method, path)).status == 401

    user = await add_user(client, "root@example.com", name="Root", role="admin")
    admin = await Agent.sign_in(client, user)
    try:
        body = {"url": "https://crm.example.com/x", "events": ["lead.created"]}
        async with admin.http.post(client.make_url("/api/webhooks"), json=body) as response:
            assert response.status == 403 and (await response.json())["error"] == "csrf"
        created = await admin.api("POST", "/api/webhooks", body, status=201)
        assert created["url"] == "https://crm.example.com/x"
    finally:
        await admin.close()


async def test_a_leads_deliveries_are_erased_and_exported_with_it(rig: Rigged) -> None:
    await rig.endpoint(["lead.created"])
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await rig.settle()
    conv = await api_get(rig.client, f"/api/conversations/{visitor.conversation_id}")
    exporters = dict(rig.app[keys.EXPORTERS].items())
    [exported] = await exporters["webhook_deliveries"](conv["lead_id"], [visitor.conversation_id])
    assert exported["kind"] == "lead.created" and exported["body"]["lead"]["id"] == conv["lead_id"]
    erasers = dict(rig.app[keys.ERASERS].items())
    await erasers["webhook_deliveries"](conv["lead_id"], [visitor.conversation_id])
    assert await rig.deliveries() == []


# -- the admin page -------------------------------------------------------------------------


async def test_the_webhooks_page_is_for_admins_and_linked_from_their_navigation(
    client: TestClient[Any, Any],
) -> None:
    signed_out = await client.get("/admin/webhooks", allow_redirects=False)
    assert signed_out.status == 302 and signed_out.headers["Location"] == "/login?next=/admin/webhooks"
    agent = await Agent.sign_in(client, await add_user(client, "agent@example.com", name="An agent"))
    admin = await Agent.sign_in(
        client, await add_user(client, "admin@example.com", name="An admin", role="admin")
    )
    try:
        async with agent.http.get(client.make_url("/admin/webhooks"), allow_redirects=False) as refused:
            assert refused.status == 403
        assert 'href="/admin/webhooks"' not in await agent.get_text("/inbox")
        page = await admin.get_text("/admin/webhooks")
        assert '<a href="/admin/webhooks" aria-current="page">Webhooks</a>' in page
        for script in ("/static/api.js", "/static/admin-common.js", "/static/admin-webhooks.js"):
            assert f'<script src="{script}" defer></script>' in page
            await admin.get_text(script)
        await admin.get_text("/static/admin-webhooks.css")
        for kind in WEBHOOK_KINDS:
            assert f'value="{kind}"' in page
        assert "<script>" not in page and " style=" not in page
        assert 'href="/admin/webhooks"' in await admin.get_text("/admin/flows")
    finally:
        await agent.close()
        await admin.close()


async def test_an_error_answer_that_never_ends_fails_the_attempt_with_its_status(
    aiohttp_server: ServerFactory,
) -> None:
    """Only the start of a failed answer is kept, so only the start is read: an error page that
    never ends (or is huge) fails the attempt at once with its status, instead of being read
    whole into memory until the timeout."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=502)
        await response.prepare(request)
        while True:  # until leadbot hangs up
            await response.write(b"upstream down " * 4096)

    app = web.Application()
    app.router.add_post("/hook", endless)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        attempt = await post(
            session,
            url=str(server.make_url("/hook")),
            body="{}",
            kind="lead.created",
            delivery_id="d1",
            secrets=["whsec_test"],
            now=datetime.now(UTC),
            trigger="automatic",
            timeout_seconds=5,
        )
    assert attempt.status_code == 502
    assert attempt.error is not None and attempt.error.startswith("HTTP 502: upstream down upstream down")
    assert len(attempt.error) <= len("HTTP 502: ") + ANSWER_CHARS
