"""Touchpoints: the widget's `visit` frame over a real socket, SMS/WhatsApp/email starts, merges.

Frames on one socket are handled in order, so once a message sent after a `visit` is acked, the
visit has been handled: `handled` waits for exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.attribution.touchpoints import MAX_PER_CONVERSATION
from bot.attribution.visits import read_visit
from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import AUTH, ClientFactory, api_get, make_settings, settle
from tests.support.consent_flow import consent_flows
from tests.support.email_app import email_settings, send_mail
from tests.support.fake_twilio import Rig, ServerFactory, start_rig
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink
from tests.support.visitor import Visitor

LEAD_PHONE = "+14155550100"
GOOGLE_AD = {"source": "google", "medium": "cpc", "campaign": "spring-sale", "term": "crm", "content": "ad-1"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings, clock=clock.now))


def visit(visit_id: str = "visit-1", **fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "visit",
        "id": visit_id,
        "age": 30,
        "utm": GOOGLE_AD,
        "referrer": "https://www.google.com/search?q=crm",
        "landing_page": "https://shop.example.com/pricing?utm_source=google&utm_campaign=spring-sale#plans",
    }
    frame.update(fields)
    return frame


async def handled(v: Visitor) -> None:
    """Every frame sent before now has been handled (a message after them is acked)."""
    client_id = await v.send("hello there")
    await v.next_frame("ack", lambda f: f["id"] == client_id)


async def lead_id_of(client: TestClient[Any, Any], conversation_id: str) -> str:
    lead_id: str = (await client.app[keys.STORE].get_conversation(conversation_id)).lead_id
    return lead_id


async def touchpoints(client: TestClient[Any, Any], conversation_id: str) -> list[dict[str, Any]]:
    lead_id = await lead_id_of(client, conversation_id)
    return list((await api_get(client, f"/api/leads/{lead_id}/touchpoints"))["items"])


# -- the widget's visits ---------------------------------------------------------------------


async def test_a_visit_is_kept_with_where_it_came_from(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit())
    await handled(v)

    [touchpoint] = await touchpoints(client, v.conversation_id)
    assert touchpoint == {
        "id": touchpoint["id"],
        "lead_id": await lead_id_of(client, v.conversation_id),
        "conversation_id": v.conversation_id,
        "at": (clock.now() - timedelta(seconds=30)).isoformat(),  # the visit began 30 s ago
        "channel": "web",
        "source": "google",
        "medium": "cpc",
        "campaign": "spring-sale",
        "term": "crm",
        "content": "ad-1",
        "referrer": "https://www.google.com/search?q=crm",
        # the fragment is not kept
        "landing_page": "https://shop.example.com/pricing?utm_source=google&utm_campaign=spring-sale",
    }


async def test_a_visit_sent_again_is_kept_once_and_a_new_page_load_is_a_new_touchpoint(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit())
    await v.ws.send_json(visit())  # twice on one socket
    await handled(v)
    await v.close()

    # The visitor comes back two days later from a link on a news site: the widget resends the
    # old visit (with its age grown) and the new one.
    clock.advance(2 * 24 * 3600)
    again = await Visitor.connect(client, token=v.token, after_seq=100)
    assert again.conversation_id == v.conversation_id
    await again.ws.send_json(visit(age=30 + 2 * 24 * 3600))
    news = visit(
        "visit-2",
        age=5,
        utm={},
        referrer="https://news.example.org/story",
        landing_page="https://shop.example.com/",
    )
    await again.ws.send_json(news)
    await handled(again)

    found = await touchpoints(client, v.conversation_id)
    assert [(t["source"], t["campaign"]) for t in found] == [
        ("google", "spring-sale"),
        ("news.example.org", None),
    ]
    assert found[0]["at"] == (clock.now() - timedelta(days=2, seconds=30)).isoformat()  # kept as first stored
    assert found[1]["at"] == (clock.now() - timedelta(seconds=5)).isoformat()


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        (
            {
                "utm": {},
                "referrer": "https://news.example.org/a",
                "landing_page": "https://shop.example.com/",
            },
            "news.example.org",
        ),
        # a link within the site names no source
        (
            {
                "utm": {},
                "referrer": "https://shop.example.com/blog",
                "landing_page": "https://shop.example.com/",
            },
            "direct",
        ),
        ({"utm": {}, "referrer": None}, "direct"),
        ({"utm": {"source": "  "}, "referrer": ""}, "direct"),  # blank values are no values
        ({"utm": None, "referrer": "android-app://com.google.android.gm/"}, "com.google.android.gm"),
        ({"utm": {"source": "newsletter"}, "referrer": "https://mail.example.net/"}, "newsletter"),
    ],
)
async def test_the_source_is_utm_source_else_another_sites_host_else_direct(
    client: TestClient[Any, Any], fields: dict[str, Any], source: str
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit(**fields))
    await handled(v)
    [touchpoint] = await touchpoints(client, v.conversation_id)
    assert touchpoint["source"] == source


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"id": None}, "id must be"),
        ({"id": "x" * 101}, "id must be"),
        ({"landing_page": None}, "landing_page is required"),
        ({"landing_page": "javascript:alert(1)"}, "landing_page must be an http(s) URL"),
        ({"landing_page": "/pricing"}, "landing_page must be an http(s) URL"),
        ({"landing_page": "https://example.com/" + "a" * 2000}, "landing_page is longer than 2000"),
        ({"referrer": "not a url"}, "referrer must be an absolute URL"),
        ({"referrer": 42}, "referrer must be a string"),
        ({"utm": ["google"]}, "utm must be an object"),
        ({"utm": {"source": 7}}, "source must be a string"),
        ({"utm": {"campaign": "c" * 201}}, "campaign is longer than 200"),
        ({"age": -1}, "age must be between"),
        ({"age": 91 * 24 * 3600}, "age must be between"),
        ({"age": "30"}, "age must be a number"),
        ({"age": True}, "age must be a number"),
    ],
)
async def test_a_bad_visit_gets_an_error_frame_and_the_socket_lives_on(
    client: TestClient[Any, Any], fields: dict[str, Any], complaint: str
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit(**fields))
    error = await v.next_frame("error")
    assert error["code"] == "bad_frame" and complaint in error["message"], error
    reply = await v.say("We need a CRM")  # the socket and the conversation carry on
    assert reply["expects"]["slot"] == "company"
    assert await touchpoints(client, v.conversation_id) == []


async def test_one_conversation_keeps_a_bounded_number_of_visits(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    for n in range(MAX_PER_CONVERSATION + 5):
        await v.ws.send_json(visit(f"visit-{n}"))
    await handled(v)
    assert not [f for f in v.frames if f["type"] == "error"]  # a widget is never told off for it
    assert len(await touchpoints(client, v.conversation_id)) == MAX_PER_CONVERSATION


async def test_visits_are_kept_only_once_the_required_consent_is_given(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock
) -> None:
    flows = consent_flows(tmp_path / "flows", required=True)
    settings = make_settings(tmp_path / "data", LEADBOT_FLOWS_DIR=str(flows))
    client = await aiohttp_client(create_app(settings, clock=clock.now))
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit())
    await v.ws.send_json({"type": "consent"})
    await v.next_frame("consent")  # the visit before it was handled, and not kept
    assert await touchpoints(client, v.conversation_id) == []
    await v.ws.send_json(visit())  # the widget sends its visits again once consent is given
    await handled(v)
    assert [t["source"] for t in await touchpoints(client, v.conversation_id)] == ["google"]


# -- contact channels ------------------------------------------------------------------------


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    return await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")


async def only_conversation(rig: Rig, channel: str) -> str:
    [conv] = (await api_get(rig.client, f"/api/conversations?channel={channel}"))["items"]
    return str(conv["id"])


async def test_an_sms_conversation_start_is_a_touchpoint_once(rig: Rig) -> None:
    sid = rig.twilio.new_sid()
    await rig.twilio.sms(LEAD_PHONE, "Hi, we need a CRM", sid=sid)
    await rig.twilio.sms(LEAD_PHONE, "Hi, we need a CRM", sid=sid)  # Twilio retrying
    await settle(rig.app)
    await rig.text(LEAD_PHONE, "Acme")  # a second message in the same conversation
    conv_id = await only_conversation(rig, "sms")
    [touchpoint] = await touchpoints(rig.client, conv_id)
    assert (touchpoint["channel"], touchpoint["source"], touchpoint["conversation_id"]) == (
        "sms",
        "sms",
        conv_id,
    )
    assert touchpoint["medium"] is touchpoint["referrer"] is touchpoint["landing_page"] is None


async def test_a_whatsapp_conversation_start_is_a_touchpoint(rig: Rig) -> None:
    await rig.twilio.whatsapp(LEAD_PHONE, "Hello, pricing please")
    await settle(rig.app)
    [touchpoint] = await touchpoints(rig.client, await only_conversation(rig, "whatsapp"))
    assert (touchpoint["channel"], touchpoint["source"]) == ("whatsapp", "whatsapp")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


async def test_an_email_conversation_start_is_a_touchpoint(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(email_settings(tmp_path / "data", sink.port)))
    answer = await send_mail(client, Mail(text="Hi, we're Acme and need a shared inbox."))
    await sink.next_mail()
    [touchpoint] = await touchpoints(client, answer["conversation_id"])
    assert (touchpoint["channel"], touchpoint["source"]) == ("email", "email")


async def test_merged_leads_keep_every_touchpoint(rig: Rig) -> None:
    # The person texts first (lead A), then chats on the website from an ad (lead B) and gives
    # the same phone: B merges into A, and B's visit goes with it.
    await rig.text(LEAD_PHONE, "Hi, we need a CRM")
    sms_id = await only_conversation(rig, "sms")
    person = await lead_id_of(rig.client, sms_id)

    v = await Visitor.connect(rig.client)
    await v.greeting()
    await v.ws.send_json(visit())
    await handled(v)
    web_lead = await lead_id_of(rig.client, v.conversation_id)
    assert web_lead != person
    await settle(rig.app)  # the bot has answered "hello there"
    await v.say("call me on (415) 555-0100")
    await settle(rig.app)

    assert await lead_id_of(rig.client, v.conversation_id) == person
    found = await touchpoints(rig.client, sms_id)
    assert sorted((t["channel"], t["source"]) for t in found) == [("sms", "sms"), ("web", "google")]
    assert {t["lead_id"] for t in found} == {person}
    response = await rig.client.get(f"/api/leads/{web_lead}/touchpoints", headers=AUTH)
    assert response.status == 404 and (await response.json())["error"] == "not_found"


async def test_the_lead_remembers_when_it_first_gave_an_email_or_phone(client: TestClient[Any, Any]) -> None:
    # W-shaped attribution's lead-creation touch is the last one at or before that moment.
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("We need a CRM")
    lead_id = await lead_id_of(client, v.conversation_id)
    assert (await api_get(client, f"/api/leads/{lead_id}"))["contact_given_at"] is None
    await v.say("Acme, you can reach me at jane@acme.io")
    await settle(client.app)
    given = (await api_get(client, f"/api/leads/{lead_id}"))["contact_given_at"]
    assert given is not None
    await v.say("my phone is (415) 555-0100")
    await settle(client.app)
    lead = await api_get(client, f"/api/leads/{lead_id}")
    assert lead["phone"] == "+14155550100" and lead["contact_given_at"] == given  # the first time stays


async def test_a_leads_export_and_erasure_include_its_touchpoints(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(visit())
    await handled(v)
    lead_id = await lead_id_of(client, v.conversation_id)
    exported = await api_get(client, f"/api/leads/{lead_id}/export")
    assert [t["source"] for t in exported["touchpoints"]] == ["google"]
    response = await client.delete(f"/api/leads/{lead_id}", headers=AUTH)
    assert response.status == 200, await response.text()
    assert await client.app[keys.STORE].collection("touchpoints").count_documents({}) == 0


async def test_touchpoints_of_an_unknown_lead_are_404(client: TestClient[Any, Any]) -> None:
    body = await api_get(client, "/api/leads/nobody/touchpoints", status=404)
    assert body["error"] == "not_found"


def test_the_frame_in_the_docs_is_one_the_server_accepts() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")
    example = next(line for line in docs.splitlines() if line.startswith('{"type": "visit"'))
    frame = json.loads(example)
    assert read_visit(frame).source == "google"
