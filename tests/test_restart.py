"""A graceful restart loses nothing: a new process continues the same conversation."""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings
from tests.support.visitor import Visitor


async def test_a_new_server_continues_the_conversation_where_it_stopped(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data")
    first = await aiohttp_client(create_app(settings))
    v = await Visitor.connect(first)
    await v.greeting()
    await v.say("We need to qualify leads automatically")
    asked = await v.say("Hooli")
    assert asked["expects"]["slot"] == "team_size"
    await v.close()
    await first.close()  # graceful shutdown writes the embedded store to disk
    assert (tmp_path / "data" / "store.json").is_file()

    second = await aiohttp_client(create_app(settings))
    back = await Visitor.connect(second, token=v.token)
    assert back.conversation_id == v.conversation_id
    history = [await back.next_frame("message") for _ in range(5)]
    assert [f["from"] for f in history] == ["bot", "visitor", "bot", "visitor", "bot"]
    reply = await back.say("120 people")
    assert reply["expects"]["slot"] == "budget_monthly"  # not need or company again
    lead = (await api_get(second, f"/api/conversations/{v.conversation_id}"))["lead"]
    assert lead["company"] == "Hooli" and lead["team_size"] == 120


async def test_the_generated_api_token_survives_a_restart(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    from bot.settings import Settings
    from bot.tokens import api_token

    settings = Settings.from_env({"LEADBOT_DATA_DIR": str(tmp_path)})
    token, path = api_token(settings)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert api_token(settings) == (token, path)
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/api/leads", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


async def test_records_of_other_modules_survive_a_restart_too(tmp_path: Path) -> None:
    from bot.embedded import embedded_store

    async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
        await store.collection("users").insert_one({"_id": "u1", "email": "dana@example.com"})
    async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
        assert await store.collection("users").find_one({"_id": "u1"}) == {
            "_id": "u1",
            "email": "dana@example.com",
        }


async def test_published_flow_versions_and_pins_survive_a_restart(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    from tests.conftest import AUTH

    settings = make_settings(tmp_path / "data")
    first = await aiohttp_client(create_app(settings))
    before = await Visitor.connect(first)
    await before.greeting()
    body = (await api_get(first, "/api/flows/default"))["live"]
    body["slots"][1]["question"] = "Which organisation are you with?"
    assert (await first.put("/api/flows/default/draft", json=body, headers=AUTH)).status == 200
    assert (await first.post("/api/flows/default/publish", headers=AUTH)).status == 200
    await before.close()
    await first.close()

    second = await aiohttp_client(create_app(settings))
    assert (await api_get(second, "/api/flows"))["flows"][0]["live_version"] == 2
    back = await Visitor.connect(second, token=before.token)
    await back.next_frame("message")  # the greeting, replayed
    assert "Which company are you with?" in (await back.say("We need better lead routing"))["text"]
    new = await Visitor.connect(second)
    await new.greeting()
    assert "Which organisation are you with?" in (await new.say("We need better lead routing"))["text"]
    await back.close()
    await new.close()


async def test_the_snapshot_restores_every_kind_of_value(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bson import Binary, Decimal128, ObjectId, json_util
    from bson.int64 import Int64

    from bot.embedded import embedded_store
    from bot.embedded_snapshot import JSON_OPTIONS

    at = datetime(2026, 11, 21, 9, 30, 15, 123000, tzinfo=UTC)  # MongoDB keeps milliseconds
    values = {
        "at": at,
        "raw": b"\x00\xffbytes",
        "binary": Binary(b"\x01\x02", 128),
        "oid": ObjectId(),
        "big": Int64(2**40),
        "int": 2**40,
        "small": -7,
        "ratio": 0.1,
        "money": Decimal128("10.10"),
        "flag": True,
        "nothing": None,
        "text": 'Zoë 👋 "quoted" \\ </script>',
        "nested": {"slots": {"email": "zoe@x.io", "seen": [at, {"deeper": [1, "two", None]}]}, "empty": {}},
        "list": [],
    }
    async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
        things = [{"_id": "t1", **values}, {"n": 1, "_id": ObjectId()}]  # `_id` last: kept there
        await store.collection("things").insert_many(things)
        await store.leads.insert_one({"_id": "l1", "slots": {"email": "a@x.io"}})
        await store.leads.update_one({"_id": "l1"}, {"$set": {"slots.email": "b@x.io", "at": at}})  # in place
        await store.messages.insert_one({"_id": "m1", "conversation_id": "c1", "seq": 1, "at": at})
        expected = await store.dump()
    text = (tmp_path / "store.json").read_text(encoding="utf-8")
    assert text == json_util.dumps(expected, json_options=JSON_OPTIONS)  # the format it always had
    async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
        assert await store.dump() == expected
        thing = await store.collection("things").find_one({"_id": "t1"})
        assert thing == {"_id": "t1", **values} and thing["at"].tzinfo is not None
        assert await store.leads.find_one({"slots.email": "b@x.io"}) is not None  # indexed again
