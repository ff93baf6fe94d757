"""A visitor qualifies through the real websocket with the offline bot; the API shows the lead."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import api_get, settle
from tests.support.visitor import Visitor

SKIP_TO_EMAIL = ["skip"] * 7  # need, company, team size, budget, timeline, decision maker, name


async def test_full_qualification_hands_a_qualified_lead_to_a_person(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    greeting = await v.greeting()
    assert "Hi!" in greeting["text"] and greeting["expects"]["slot"] == "need"

    script = [
        ("We need to automate our lead follow-ups", "company"),
        ("Sure! It's Stark Industries", "team_size"),
        ("about fifty", "budget_monthly"),
        ("ten grand a month", "timeline"),
        ("ASAP", "decision_maker"),
        ("I'm the CTO, it's my call", "name"),
        ("my name is Tony Stark", "email"),
        ("tony@stark.com", "phone"),
    ]
    replies = {}
    for answer, next_slot in script:
        reply = await v.say(answer)
        assert reply["expects"] is not None and reply["expects"]["slot"] == next_slot, (answer, reply)
        replies[answer] = reply["text"]
    # each answer is acknowledged as understood, so the visitor can correct a misreading
    assert replies["about fifty"].startswith("Got it — 50 people.")
    assert replies["ten grand a month"].startswith("Got it: $10,000 per month.")
    assert replies["ASAP"].startswith("Noted — within a month.")
    assert replies["my name is Tony Stark"].startswith("Nice to meet you, Tony Stark!")
    timeline_hint = next(f for f in v.frames if f.get("expects") and f["expects"]["slot"] == "timeline")
    assert timeline_hint["expects"]["input"] == "choice" and "ASAP" in timeline_hint["expects"]["choices"]

    final = await v.say("(415) 555-0100")
    assert final["expects"] is None
    assert "person" in final["text"]

    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "pending_human"
    assert conv["handoff_reason"] == "qualified"
    lead = conv["lead"]
    assert lead["company"] == "Stark Industries"
    assert lead["team_size"] == 50
    assert lead["budget_monthly"] == 10_000
    assert lead["timeline"] == "immediate"
    assert lead["decision_maker"] is True
    assert lead["name"] == "Tony Stark"
    assert lead["email"] == "tony@stark.com"
    assert lead["phone"] == "+14155550100"
    assert lead["score"] == 100 and lead["grade"] == "A" and lead["temperature"] == "hot"
    assert lead["status"] == "qualified"
    assert "budget_monthly ≥ 5000: +30" in lead["score_reasons"]
    assert [c["status"] for c in lead["status_history"]] == ["new", "engaged", "qualified"]
    # one bot message per visitor message, plus the greeting
    senders = [m["from"] for m in conv["messages"]]
    assert senders.count("visitor") == 9 and senders.count("bot") == 10


async def test_unqualified_lead_gets_a_polite_close(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    for answer in [
        "Just looking around",
        "Tiny Co",
        "just me",
        "$200 per month",
        "maybe next year",
        "no, my boss decides",
        "Ann",
    ]:
        await v.say(answer)
    await v.say("ann@tiny.co")
    close = await v.say("skip")
    assert close["expects"] is None and "Thanks for your time" in close["text"]
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "closed"
    assert conv["lead"]["status"] == "unqualified"
    assert conv["lead"]["score"] == 5
    assert conv["lead"]["skipped"] == ["phone"]

    # after the close the bot still answers, and a person is one request away
    assert "closed" in (await v.say("hello?"))["text"]
    assert "person" in (await v.say("actually, can I talk to someone?"))["text"]
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "pending_human" and conv["handoff_reason"] == "requested"


async def test_facts_are_picked_up_whenever_mentioned_and_never_asked_again(
    client: TestClient[Any, Any],
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    reply = await v.say("Hi, I'm Jane from Acme. We're 40 people and want to start next week, jane@acme.io")
    # need was asked; the rest was noted and is not asked again
    assert reply["expects"]["slot"] == "need"
    assert "jane@acme.io" in reply["text"]
    asked = []
    reply = await v.say("a better way to qualify inbound leads")
    while reply["expects"] is not None:
        asked.append(reply["expects"]["slot"])
        reply = await v.say("skip")
    assert asked == ["budget_monthly", "decision_maker", "phone"]
    lead = (await api_get(client, f"/api/conversations/{v.conversation_id}"))["lead"]
    assert lead["name"] == "Jane" and lead["company"] == "Acme"
    assert lead["team_size"] == 40 and lead["timeline"] == "immediate"


async def test_a_visitor_asking_for_a_person_is_handed_off_at_once(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("We need a CRM")
    reply = await v.say("can I talk to a real person please?")
    assert reply["expects"] is None and "person" in reply["text"]
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "pending_human" and conv["handoff_reason"] == "requested"

    # the bot stays quiet now: a person owns the next reply
    await v.send("hello?")
    await v.next_frame("ack")
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["messages"][-1]["from"] == "visitor" and conv["messages"][-1]["text"] == "hello?"


async def test_stop_opts_out_and_the_bot_goes_silent_until_start(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    reply = await v.say("STOP")
    assert "unsubscribed" in reply["text"] and reply["expects"] is None
    await v.send("are you there?")
    await v.next_frame("ack")
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["lead"]["status"] == "opted_out" and conv["opted_out"] is True
    assert conv["messages"][-1]["from"] == "visitor"

    back = await v.say("START")
    assert "Welcome back" in back["text"] and back["expects"]["slot"] == "need"
    lead = (await api_get(client, f"/api/conversations/{v.conversation_id}"))["lead"]
    assert lead["status"] == "engaged"


async def test_stop_works_while_the_visitor_waits_for_a_person(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("talk to a human")
    confirmed = await v.say("unsubscribe")
    assert "unsubscribed" in confirmed["text"]
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["opted_out"] is True and conv["lead"]["status"] == "opted_out"
    assert conv["mode"] == "pending_human"  # still the team's, who must not write now
    back = await v.say("START")
    assert "Welcome back" in back["text"]
    assert (await api_get(client, f"/api/leads/{conv['lead']['id']}"))["status"] == "engaged"


async def test_an_invalid_email_is_asked_again_politely(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    for answer in SKIP_TO_EMAIL:
        reply = await v.say(answer)
    assert reply["expects"]["slot"] == "email" and reply["expects"]["input"] == "email"
    again = await v.say("jane@")
    assert again["expects"]["slot"] == "email"
    assert "complete email" in again["text"]
    refused = await v.say("skip")
    assert refused["expects"]["slot"] == "email" and "need your email" in refused["text"]
    ok = await v.say("Jane@Acme.IO")
    assert ok["expects"]["slot"] == "phone"
    lead = (await api_get(client, f"/api/conversations/{v.conversation_id}"))["lead"]
    assert lead["email"] == "jane@acme.io"


async def test_a_correction_replaces_the_earlier_answer(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    for answer in SKIP_TO_EMAIL:
        await v.say(answer)
    await v.say("jane@acme.io")
    fixed = await v.say("sorry, my email is actually jane.doe@acme.io")
    assert "jane.doe@acme.io" in fixed["text"] and fixed["expects"]["slot"] == "phone"
    lead = (await api_get(client, f"/api/conversations/{v.conversation_id}"))["lead"]
    assert lead["email"] == "jane.doe@acme.io"


async def test_the_same_email_in_a_second_conversation_links_to_the_same_lead(
    client: TestClient[Any, Any],
) -> None:
    first = await Visitor.connect(client)
    await first.greeting()
    await first.say("I'm Sam from Globex, sam@globex.com")
    second = await Visitor.connect(client)
    await second.greeting()
    assert second.conversation_id != first.conversation_id
    await second.say("hi, this is sam@globex.com again, we're 120 people")

    one = await api_get(client, f"/api/conversations/{first.conversation_id}")
    two = await api_get(client, f"/api/conversations/{second.conversation_id}")
    assert one["lead"]["id"] == two["lead"]["id"]
    lead = await api_get(client, f"/api/leads/{one['lead']['id']}")
    assert sorted(lead["conversation_ids"]) == sorted([first.conversation_id, second.conversation_id])
    assert lead["company"] == "Globex" and lead["team_size"] == 120
    listed = await api_get(client, "/api/leads")
    assert [item["email"] for item in listed["items"]].count("sam@globex.com") == 1
