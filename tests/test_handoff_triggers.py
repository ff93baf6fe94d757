"""A flow's own handoff triggers: phrases that mean "a person, please", and a score high enough to
hand off before the last questions. The flows are published through the API as an admin would."""

from __future__ import annotations

from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH, api_get, settle
from tests.support.visitor import Visitor

HANDED_OFF = "Of course — I'm bringing in a person from our team. They'll reply right here."
QUALIFIED = "You look like a great fit — a person from our team will join this chat shortly."


async def publish_handoff(client: TestClient[Any, Any], **handoff: Any) -> None:
    """Import the default flow with these handoff settings, then publish it as the next version."""
    exported = await client.get("/api/flows/default/export", headers=AUTH)
    assert exported.status == 200
    document = yaml.safe_load(await exported.text())
    document["handoff"] = {**document.get("handoff", {}), **handoff}
    response = await client.post("/api/flows/import", data=yaml.safe_dump(document).encode(), headers=AUTH)
    imported = await response.json()
    assert response.status == 200 and imported["valid"], imported
    published = await client.post("/api/flows/default/publish", json={}, headers=AUTH)
    assert published.status == 200, await published.json()


async def conversation(client: TestClient[Any, Any], visitor: Visitor) -> dict[str, Any]:
    await settle(client.app)
    return dict(await api_get(client, f"/api/conversations/{visitor.conversation_id}"))


async def first_words(client: TestClient[Any, Any], text: str) -> tuple[dict[str, Any], str]:
    """A new visitor writes `text` after the greeting: (their conversation, the bot's reply)."""
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    reply = await visitor.say(text)
    conv = await conversation(client, visitor)
    await visitor.close()
    return conv, str(reply["text"])


async def waiting_ids(client: TestClient[Any, Any]) -> set[str]:
    waiting = await api_get(client, "/api/conversations?mode=pending_human&limit=200")
    return {c["id"] for c in waiting["items"]}


async def test_a_flow_phrase_hands_the_visitor_to_the_team(client: TestClient[Any, Any]) -> None:
    # Before the flow lists the phrase, asking about pricing is just an answer.
    conv, reply = await first_words(client, "What's your pricing?")
    assert (conv["mode"], conv["handoff_reason"]) == ("bot", None) and HANDED_OFF not in reply

    await publish_handoff(client, phrases=["pricing", "book a demo"])
    for text in ["What's your pricing?", "PRICING", "Could we book a\n demo next week?"]:
        conv, reply = await first_words(client, text)
        assert reply == HANDED_OFF, text
        assert (conv["mode"], conv["handoff_reason"]) == ("pending_human", "requested"), text
        assert conv["flow"]["version"] == 2
        assert conv["id"] in await waiting_ids(client)


async def test_words_that_only_resemble_a_phrase_do_not_hand_off(client: TestClient[Any, Any]) -> None:
    await publish_handoff(client, phrases=["pricing", "book a demo"])
    for text in [
        "repricing is not what we need",
        "I don't need pricing",
        "We do not want to book a demo, we want lead routing",
    ]:
        conv, reply = await first_words(client, text)
        assert (conv["mode"], conv["handoff_reason"]) == ("bot", None), text
        assert reply.endswith("Which company are you with?"), (text, reply)
    assert await waiting_ids(client) == set()


async def test_a_typographic_apostrophe_negates_a_phrase_too(client: TestClient[Any, Any]) -> None:
    # Phones type "don’t" with U+2019; the built-in "talk to a person" already reads it as "don't".
    await publish_handoff(client, phrases=["pricing"])
    conv, reply = await first_words(client, "I don’t need to talk to a person")
    assert conv["mode"] == "bot", reply
    conv, reply = await first_words(client, "I don’t need pricing")
    assert (conv["mode"], conv["handoff_reason"]) == ("bot", None), reply


async def answer(visitor: Visitor, text: str) -> str:
    return str((await visitor.say(text))["text"])


async def test_a_high_enough_score_hands_off_before_the_last_questions(client: TestClient[Any, Any]) -> None:
    script = ["We need lead routing", "Acme Corp", "50 people", "ten grand a month"]
    # Without the setting the same answers (50 points) lead on to the next question.
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    for text in script:
        await answer(visitor, text)
    reply = await answer(visitor, "Within 6 months")
    assert reply.endswith("Are you the one who makes the buying decision?")
    conv = await conversation(client, visitor)
    assert (conv["mode"], conv["lead"]["score"]) == ("bot", 50)
    await visitor.close()

    await publish_handoff(client, score_at_least=50)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    for text in script:
        reply = await answer(visitor, text)
    assert reply.endswith("When would you like to get started?")
    conv = await conversation(client, visitor)
    assert (conv["mode"], conv["lead"]["score"]) == ("bot", 45)  # 45: not yet

    assert QUALIFIED in await answer(visitor, "Within 6 months")
    conv = await conversation(client, visitor)
    assert (conv["mode"], conv["handoff_reason"]) == ("pending_human", "qualified")
    lead = conv["lead"]
    assert lead["score"] == 50 and lead["timeline"] == "medium"
    assert lead["decision_maker"] is None and lead["email"] is None  # never asked
    bot = [m["text"] for m in conv["messages"] if m["from"] == "bot"]
    assert not any("buying decision" in text or "email" in text for text in bot[1:])
    assert conv["id"] in await waiting_ids(client)
    await visitor.close()
