"""The store contract, run on every backend available (the `store` fixture, tests/conftest.py).

- embedded: mongomock-motor in process (always);
- wire: the production motor path over a real socket to a MongoDB wire-protocol
  stand-in (mockupdb + mongomock; always);
- mongodb: a real server, when MONGODB_URI is set.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from bot.embedded import open_embedded
from bot.models import FlowRef, Inbound, Outbound
from bot.store import NotFound, Store

FLOW = FlowRef(id="default", version=1)


async def _conversation(store: Store, token: str | None = None) -> str:
    conv = await store.create_conversation("web", FLOW, token or secrets.token_hex(8))
    return conv.id


def _inbound(conv_id: str, text: str, client_id: str | None) -> Inbound:
    return Inbound(channel="web", conversation_id=conv_id, text=text, client_id=client_id)


async def test_conversations_are_found_by_id_and_by_visitor_token(store: Store) -> None:
    conv = await store.create_conversation("web", FLOW, "secret-token")
    assert (await store.get_conversation(conv.id)).lead_id == conv.lead_id
    by_token = await store.conversation_by_token("secret-token")
    assert by_token is not None and by_token.id == conv.id
    assert await store.conversation_by_token("other") is None
    lead = await store.get_lead(conv.lead_id)
    assert lead.status == "new" and lead.conversation_ids == [conv.id]
    with pytest.raises(NotFound):
        await store.get_conversation("missing")
    with pytest.raises(NotFound):
        await store.get_lead("missing")


async def test_visitor_tokens_are_stored_only_as_hashes(store: Store) -> None:
    await store.create_conversation("web", FLOW, "plain-secret")
    dump = await store.dump()
    assert "plain-secret" not in repr(dump["conversations"])


async def test_inbound_messages_are_numbered_and_deduplicated(store: Store) -> None:
    conv_id = await _conversation(store)
    _, first, new = await store.record_inbound(_inbound(conv_id, "hello", "a"))
    assert new and first.seq == 1
    conv, again, new = await store.record_inbound(_inbound(conv_id, "hello", "a"))
    assert not new and again.id == first.id and again.seq == 1 and conv.last_seq == 1
    _, second, new = await store.record_inbound(_inbound(conv_id, "again", None))
    assert new and second.seq == 2
    # the same client id in another conversation is another message
    other = await _conversation(store)
    _, elsewhere, new = await store.record_inbound(_inbound(other, "hello", "a"))
    assert new and elsewhere.seq == 1


async def test_concurrent_duplicates_are_stored_once(store: Store) -> None:
    conv_id = await _conversation(store)
    results = await asyncio.gather(
        *(store.record_inbound(_inbound(conv_id, "hi", "same")) for _ in range(10))
    )
    assert sum(1 for _, _, new in results if new) == 1
    assert len({m.seq for _, m, _ in results}) == 1
    assert [m.text for m in await store.messages_after(conv_id, 0)] == ["hi"]


async def test_seq_numbers_increase_across_inbound_and_outbound(store: Store) -> None:
    conv_id = await _conversation(store)
    await store.record_inbound(_inbound(conv_id, "one", "1"))
    out = await store.append(
        conv_id, [Outbound(sender="bot", text="two"), Outbound(sender="bot", text="three")]
    )
    assert out is not None and [m.seq for m in out] == [2, 3]
    await store.record_inbound(_inbound(conv_id, "four", "4"))
    messages = await store.messages_after(conv_id, 0)
    assert [(m.seq, m.text) for m in messages] == [(1, "one"), (2, "two"), (3, "three"), (4, "four")]
    assert [m.seq for m in await store.messages_after(conv_id, 2)] == [3, 4]
    assert [m.seq for m in await store.messages_after(conv_id, 0, limit=2)] == [1, 2]
    assert await store.last_visitor_seq(conv_id) == 4


async def test_bot_messages_need_the_bot_to_own_the_conversation(store: Store) -> None:
    conv_id = await _conversation(store)
    await store.set_mode(conv_id, "human")
    assert await store.append(conv_id, [Outbound(sender="bot", text="late")], guard={"mode": "bot"}) is None
    lead = await store.get_lead((await store.get_conversation(conv_id)).lead_id)
    dropped = await store.save_turn(
        conv_id,
        state={"asked": "x"},
        lead=lead,
        outs=[Outbound(sender="bot", text="late")],
        answered_seq=1,
        guard={"mode": "bot"},
    )
    assert dropped is None
    conv = await store.get_conversation(conv_id)
    assert conv.mode == "human" and conv.state == {} and conv.last_seq == 0
    assert await store.messages_after(conv_id, 0) == []


async def test_a_turn_saves_replies_state_lead_and_mode(store: Store) -> None:
    conv_id = await _conversation(store)
    conv = await store.get_conversation(conv_id)
    lead = await store.get_lead(conv.lead_id)
    lead.slots["team_size"] = 12
    lead.score = 10
    saved = await store.save_turn(
        conv_id,
        state={"asked": "email"},
        lead=lead,
        outs=[Outbound(sender="bot", text="Email?")],
        answered_seq=0,
        mode="pending_human",
        handoff_reason="requested",
        guard={"mode": "bot"},
    )
    assert saved is not None
    conv, lead, messages = saved
    assert conv.mode == "pending_human" and conv.handoff_reason == "requested"
    assert conv.state == {"asked": "email"} and [m.text for m in messages] == ["Email?"]
    again = await store.get_lead(lead.id)
    assert again.slots == {"team_size": 12} and again.score == 10


async def test_leads_with_the_same_email_or_phone_are_one_lead(store: Store) -> None:
    first = await store.get_conversation(await _conversation(store))
    second = await store.get_conversation(await _conversation(store))
    a = await store.get_lead(first.lead_id)
    a.slots.update(email="kim@example.com", company="Example")
    await store.save_lead(a)
    b = await store.get_lead(second.lead_id)
    b.slots.update(email="kim@example.com", team_size=30)
    merged = await store.save_lead(b)
    assert merged.id == a.id
    assert merged.slots == {"email": "kim@example.com", "company": "Example", "team_size": 30}
    assert sorted(merged.conversation_ids) == sorted([first.id, second.id])
    assert (await store.get_conversation(second.id)).lead_id == a.id
    with pytest.raises(NotFound):
        await store.get_lead(b.id)

    third = await store.get_conversation(await _conversation(store))
    c = await store.get_lead(third.lead_id)
    c.slots["phone"] = "+14155550100"
    await store.save_lead(c)
    d = await store.get_lead((await store.get_conversation(await _conversation(store))).lead_id)
    d.slots["phone"] = "+14155550100"
    assert (await store.save_lead(d)).id == c.id


async def test_leads_are_listed_by_status_and_score(store: Store) -> None:
    for score, status in [(90, "qualified"), (40, "engaged"), (75, "qualified"), (10, "unqualified")]:
        conv = await store.get_conversation(await _conversation(store))
        lead = await store.get_lead(conv.lead_id)
        lead.score, lead.status = score, status
        await store.save_lead(lead)
    assert [lead.score for lead in await store.list_leads(status="qualified")] == [90, 75]
    assert [lead.score for lead in await store.list_leads(min_score=40)] == [90, 75, 40]
    assert [lead.score for lead in await store.list_leads(limit=2, offset=1)] == [75, 40]


async def test_conversations_are_listed_newest_first_and_by_mode(store: Store) -> None:
    ids = [await _conversation(store) for _ in range(3)]
    await store.set_mode(ids[0], "pending_human", handoff_reason="requested")
    listed = await store.list_conversations()
    # the most recently updated first (the others may tie to the millisecond)
    assert listed[0].id == ids[0] and sorted(c.id for c in listed) == sorted(ids)
    assert [c.id for c in await store.list_conversations(mode="pending_human")] == [ids[0]]


async def test_dump_and_restore_round_trip(store: Store) -> None:
    conv_id = await _conversation(store, token="tok")
    await store.record_inbound(_inbound(conv_id, "hi", "x"))
    dump = await store.dump()
    copy = open_embedded(f"copy_{secrets.token_hex(4)}")
    await copy.restore(dump)
    await copy.ensure_indexes()
    restored = await copy.conversation_by_token("tok")
    assert restored is not None and restored.last_seq == 1
    assert [m.text for m in await copy.messages_after(conv_id, 0)] == ["hi"]
    lead = await copy.get_lead(restored.lead_id)
    assert lead.created_at.tzinfo is not None


def test_no_module_but_the_store_imports_motor() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    importers = [
        str(p.relative_to(root))
        for top in ("bot", "channels")
        for p in (root / top).rglob("*.py")
        if "import motor" in p.read_text() or "from motor" in p.read_text()
    ]
    assert importers == ["bot/store.py"]


async def test_one_conversation_per_contact_per_channel_even_when_racing(store: Store) -> None:
    opened = await asyncio.gather(
        *(
            store.conversation_for_contact("sms", "+14155550100", FLOW, {"phone": "+14155550100"})
            for _ in range(5)
        )
    )
    assert len({conv.id for conv, _ in opened}) == 1
    assert sum(1 for _, created in opened if created) == 1
    conv = opened[0][0]
    assert conv.contact == "+14155550100"
    assert (await store.get_lead(conv.lead_id)).slots == {"phone": "+14155550100"}
    assert len(await store.list_leads()) == 1  # the racers left no stray leads behind
    other, created = await store.conversation_for_contact(
        "whatsapp", "+14155550100", FLOW, {"phone": "+14155550100"}
    )
    assert created and other.id != conv.id
    assert other.lead_id == conv.lead_id  # the same phone: the same lead


async def test_a_provider_message_id_is_stored_once_everywhere(store: Store) -> None:
    conv, _ = await store.conversation_for_contact("sms", "+14155550101", FLOW, {})
    first = Inbound(channel="sms", conversation_id=conv.id, text="hi", provider_id="SM1")
    results = await asyncio.gather(*(store.record_inbound(first) for _ in range(5)))
    assert sum(1 for _, _, new in results if new) == 1
    stored = await store.messages_after(conv.id, 0)
    assert [(m.text, m.provider_id) for m in stored] == [("hi", "SM1")]
    assert (await store.get_conversation(conv.id)).last_inbound_at is not None


async def test_delivery_status_only_moves_forward(store: Store) -> None:
    conv_id = await _conversation(store)
    sent = await store.append(conv_id, [Outbound(sender="bot", text="hello")])
    assert sent is not None
    await store.sent_as(sent[0].id, "SMout", "queued")
    assert (await store.update_delivery("SMout", "delivered")) is not None
    assert await store.update_delivery("SMout", "sent") is None  # late, out of order
    assert await store.update_delivery("SMout", "delivered") is None  # a duplicate
    read = await store.update_delivery("SMout", "read")
    assert read is not None and read.delivery == "read"
    assert await store.update_delivery("SMunknown", "sent") is None

    failing = await store.append(conv_id, [Outbound(sender="bot", text="again")])
    assert failing is not None
    await store.sent_as(failing[0].id, "SMfail", "queued")
    failed = await store.update_delivery("SMfail", "failed", "30003")
    assert failed is not None and (failed.delivery, failed.delivery_error) == ("failed", "30003")
    assert await store.update_delivery("SMfail", "delivered") is None  # failed is final


async def test_a_report_that_outruns_the_send_is_applied_when_the_id_is_recorded(store: Store) -> None:
    conv_id = await _conversation(store)
    sent = await store.append(conv_id, [Outbound(sender="bot", text="fast")])
    assert sent is not None
    # The provider reports before our send call returned: nothing to update yet.
    assert await store.update_delivery("SMfast", "sent") is None
    assert await store.update_delivery("SMfast", "delivered") is None
    assert await store.update_delivery("SMfast", "queued") is None  # late: never moves it back
    await store.sent_as(sent[0].id, "SMfast", "queued")
    [message] = await store.messages_after(conv_id, 0)
    assert (message.provider_id, message.delivery) == ("SMfast", "delivered")
    assert await store.update_delivery("SMfast", "read") is not None
