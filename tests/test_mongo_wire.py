"""The MongoDB wire-protocol stand-in, exercised through the real motor driver over a real socket."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import (
    ASCENDING,
    DESCENDING,
    DeleteOne,
    IndexModel,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
    WriteConcern,
    monitoring,
)
from pymongo.errors import (
    BulkWriteError,
    CollectionInvalid,
    DuplicateKeyError,
    OperationFailure,
    WriteError,
)

from tests.support.mongo_wire import MAX_WIRE_VERSION, MongoWireStandIn

REPO_ROOT = Path(__file__).resolve().parents[1]

Client = AsyncIOMotorClient[dict[str, Any]]
Database = AsyncIOMotorDatabase[dict[str, Any]]


class CommandRecorder(monitoring.CommandListener):
    """Records the commands the driver really sends, and the replies it gets."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.replies: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.replies.append((event.command_name, dict(event.reply)))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def connect(uri: str, **kwargs: Any) -> Client:
    return AsyncIOMotorClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, **kwargs)


@pytest.fixture(scope="module")
def mongo() -> Iterator[MongoWireStandIn]:
    with MongoWireStandIn() as server:
        yield server


@pytest.fixture
async def motor_client(mongo: MongoWireStandIn) -> AsyncIterator[Client]:
    mongo.reset()
    client = connect(mongo.uri)
    yield client
    client.close()


@pytest.fixture
def mongo_db(motor_client: Client) -> Database:
    return motor_client["leadbot_test"]


# --------------------------------------------------------------------------- handshake & lifecycle


async def test_handshake_reports_a_standalone_in_the_drivers_wire_range(motor_client: Client) -> None:
    hello = await motor_client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["helloOk"] is True
    assert hello["maxWireVersion"] == MAX_WIRE_VERSION
    assert hello["logicalSessionTimeoutMinutes"] > 0
    assert isinstance(hello["connectionId"], int)
    legacy = await motor_client.admin.command("isMaster")
    assert legacy["ismaster"] is True
    assert (await motor_client.admin.command("ping"))["ok"] == 1.0
    info = await motor_client.server_info()
    assert info["versionArray"][0] >= 4
    assert "setName" not in hello and hello.get("msg") != "isdbgrid"  # a standalone


async def test_context_manager_binds_a_port_and_stop_releases_it() -> None:
    with MongoWireStandIn() as server:
        assert server.uri == f"mongodb://127.0.0.1:{server.port}/?directConnection=true"
        socket.create_connection(server.address, timeout=2).close()
        client = connect(server.uri)
        assert (await client.admin.command("ping"))["ok"] == 1.0
        client.close()
        started = time.monotonic()
    assert time.monotonic() - started < 1.0, "stop() should not wait for mockupdb's select timeout"
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(server.address, timeout=2).close()


async def test_explicit_port_is_used() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with MongoWireStandIn(port=port) as server:
        assert server.port == port
        client = connect(server.uri)
        await client.t.c.insert_one({"x": 1})
        assert await client.t.c.count_documents({}) == 1
        client.close()


async def test_reset_drops_all_data(mongo: MongoWireStandIn, motor_client: Client) -> None:
    await motor_client.a.c.insert_one({"x": 1})
    await motor_client.b.c.insert_one({"x": 1})
    assert {"a", "b"} <= set(await motor_client.list_database_names())
    mongo.reset()
    assert await motor_client.list_database_names() == []
    assert await motor_client.a.c.count_documents({}) == 0


# --------------------------------------------------------------------------- CRUD


async def test_insert_find_round_trip_keeps_types_and_normalises_datetimes_to_utc(
    mongo: MongoWireStandIn, mongo_db: Database
) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    when = dt.datetime(2024, 5, 17, 14, 30, 15, 123456, tzinfo=paris)
    doc = {"name": "Ada", "when": when, "tags": ["a", "b"], "nested": {"n": 1, "f": 1.5, "none": None}}
    result = await mongo_db.leads.insert_one(doc)
    assert isinstance(result.inserted_id, ObjectId)

    found = await mongo_db.leads.find_one({"_id": result.inserted_id})
    assert found is not None
    assert found["_id"] == result.inserted_id
    assert found["when"] == when.replace(microsecond=123000)  # BSON dates are milliseconds
    assert found["when"].utcoffset() == dt.timedelta(0)
    assert found["when"].hour == 12
    assert found["tags"] == ["a", "b"]
    assert found["nested"] == {"n": 1, "f": 1.5, "none": None}

    # Querying by a datetime in another zone hits the same instant.
    assert await mongo_db.leads.count_documents({"when": {"$gte": when.astimezone(dt.UTC)}}) == 1
    assert await mongo_db.leads.count_documents({"when": {"$gt": when}}) == 0

    naive_client: Client = AsyncIOMotorClient(mongo.uri, serverSelectionTimeoutMS=5000)
    try:
        naive = await naive_client.leadbot_test.leads.find_one({}, {"when": 1, "_id": 0})
        assert naive == {"when": dt.datetime(2024, 5, 17, 12, 30, 15, 123000)}
    finally:
        naive_client.close()


async def test_sort_skip_limit_and_projection(mongo_db: Database) -> None:
    values = list(range(20))
    random.Random(7).shuffle(values)
    await mongo_db.items.insert_many([{"n": n, "odd": n % 2 == 1, "junk": "x"} for n in values])

    page = (
        await mongo_db.items.find({}, {"_id": 0, "n": 1}).sort("n", DESCENDING).skip(3).limit(5).to_list(None)
    )
    assert page == [{"n": n} for n in (16, 15, 14, 13, 12)]

    odd = await mongo_db.items.find({"odd": True}, {"junk": 0, "_id": 0}).sort("n", ASCENDING).to_list(None)
    assert [d["n"] for d in odd] == list(range(1, 20, 2))
    assert all("junk" not in d for d in odd)

    compound = (
        await mongo_db.items.find({}).sort([("odd", ASCENDING), ("n", DESCENDING)]).limit(3).to_list(None)
    )
    assert [d["n"] for d in compound] == [18, 16, 14]


async def test_query_operators(mongo_db: Database) -> None:
    coll = mongo_db.people
    await coll.insert_many(
        [
            {"name": "Ada", "tags": ["x"], "a": {"b": 1}},
            {"name": "bob", "tags": [], "a": {"b": 2}},
            {"name": "Alan"},
        ]
    )

    async def names(flt: dict[str, Any]) -> list[str]:
        return sorted([doc["name"] async for doc in coll.find(flt)])

    assert await names({"name": re.compile("^A")}) == ["Ada", "Alan"]
    assert await names({"name": {"$regex": "^a", "$options": "i"}}) == ["Ada", "Alan"]
    assert await names({"a.b": {"$gt": 1}}) == ["bob"]
    assert await names({"name": {"$in": ["bob", "Alan"]}}) == ["Alan", "bob"]
    assert await names({"tags": {"$size": 0}}) == ["bob"]
    assert await names({"a": {"$exists": False}}) == ["Alan"]
    assert await names({"$or": [{"name": "bob"}, {"a.b": 1}]}) == ["Ada", "bob"]
    assert await names({"tags": {"$elemMatch": {"$eq": "x"}}}) == ["Ada"]
    assert await names({"$expr": {"$eq": ["$name", "bob"]}}) == ["bob"]


async def test_cursor_with_many_batches_uses_get_more(mongo: MongoWireStandIn) -> None:
    mongo.reset()
    recorder = CommandRecorder()
    client = connect(mongo.uri, event_listeners=[recorder])
    try:
        coll = client.leadbot_test.many
        await coll.insert_many([{"i": i} for i in range(1000)])
        seen = [doc["i"] async for doc in coll.find({}, {"i": 1}).sort("i", ASCENDING).batch_size(101)]
    finally:
        client.close()
    assert seen == list(range(1000))
    assert recorder.commands.count("getMore") == 9  # 101 in firstBatch, then 9 getMores
    batches = [len(reply["cursor"]["nextBatch"]) for name, reply in recorder.replies if name == "getMore"]
    assert batches == [101] * 8 + [91]
    assert mongo.open_cursor_count == 0


async def test_closing_a_cursor_early_kills_it_on_the_server(
    mongo: MongoWireStandIn, mongo_db: Database
) -> None:
    await mongo_db.many.insert_many([{"i": i} for i in range(50)])
    cursor = mongo_db.many.find({}).batch_size(10)
    assert (await cursor.next())["i"] == 0
    assert mongo.open_cursor_count == 1
    await cursor.close()
    assert mongo.open_cursor_count == 0


async def test_get_more_on_a_killed_cursor_fails_with_cursor_not_found(mongo_db: Database) -> None:
    await mongo_db.c.insert_many([{"i": i} for i in range(10)])
    opened = await mongo_db.command("find", "c", batchSize=2)
    cursor_id = opened["cursor"]["id"]
    assert cursor_id != 0
    assert [d["i"] for d in opened["cursor"]["firstBatch"]] == [0, 1]
    more = await mongo_db.command("getMore", cursor_id, collection="c", batchSize=3)
    assert [d["i"] for d in more["cursor"]["nextBatch"]] == [2, 3, 4]
    killed = await mongo_db.command("killCursors", "c", cursors=[cursor_id])
    assert killed["cursorsKilled"] == [cursor_id]
    with pytest.raises(OperationFailure) as excinfo:
        await mongo_db.command("getMore", cursor_id, collection="c")
    assert excinfo.value.code == 43


async def test_unique_index_raises_duplicate_key_on_insert_upsert_and_find_one_and_update(
    mongo_db: Database,
) -> None:
    users = mongo_db.users
    await users.create_index("email", unique=True)
    await users.insert_one({"email": "a@example.com", "n": 0})

    with pytest.raises(DuplicateKeyError) as excinfo:
        await users.insert_one({"email": "a@example.com"})
    assert excinfo.value.code == 11000
    assert "E11000 duplicate key error" in str(excinfo.value)
    assert excinfo.value.details is not None
    assert excinfo.value.details["keyValue"] == {"email": "a@example.com"}

    with pytest.raises(DuplicateKeyError):
        await users.update_one({"n": 99}, {"$set": {"email": "a@example.com"}}, upsert=True)
    with pytest.raises(DuplicateKeyError):
        await users.find_one_and_update(
            {"n": 42}, {"$set": {"email": "a@example.com"}}, upsert=True, return_document=ReturnDocument.AFTER
        )
    await users.insert_one({"email": "b@example.com"})
    with pytest.raises(DuplicateKeyError):
        await users.update_one({"email": "b@example.com"}, {"$set": {"email": "a@example.com"}})
    with pytest.raises(DuplicateKeyError):
        await users.find_one_and_update({"email": "b@example.com"}, {"$set": {"email": "a@example.com"}})

    with pytest.raises(BulkWriteError) as bulk:
        await users.insert_many(
            [{"email": "c@example.com"}, {"email": "a@example.com"}, {"email": "d@example.com"}],
            ordered=False,
        )
    assert bulk.value.details["nInserted"] == 2
    assert [(e["index"], e["code"]) for e in bulk.value.details["writeErrors"]] == [(1, 11000)]

    with pytest.raises(BulkWriteError) as ordered:
        await users.insert_many(
            [{"email": "e@example.com"}, {"email": "a@example.com"}, {"email": "f@example.com"}]
        )
    assert ordered.value.details["nInserted"] == 1
    assert await users.count_documents({"email": "f@example.com"}) == 0
    assert sorted(await users.distinct("email")) == [f"{c}@example.com" for c in "abcde"]

    with pytest.raises(DuplicateKeyError):
        await users.insert_one({"_id": (await users.find_one({"email": "a@example.com"}) or {})["_id"]})


async def test_sparse_unique_index_allows_many_documents_without_the_field(mongo_db: Database) -> None:
    contacts = mongo_db.contacts
    await contacts.create_index("phone", unique=True, sparse=True)
    await contacts.insert_many([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    await contacts.insert_one({"name": "d", "phone": "+33100000000"})
    with pytest.raises(DuplicateKeyError):
        await contacts.insert_one({"name": "e", "phone": "+33100000000"})
    assert await contacts.count_documents({}) == 4

    await mongo_db.strict.create_index("phone", unique=True)
    await mongo_db.strict.insert_one({"name": "a"})
    with pytest.raises(DuplicateKeyError):  # without sparse, a second missing field collides on null
        await mongo_db.strict.insert_one({"name": "b"})


async def test_update_operators(mongo_db: Database) -> None:
    coll = mongo_db.ops
    await coll.insert_one({"_id": "x", "n": 1, "tags": ["a"], "hi": 5, "lo": 5, "gone": True})
    result = await coll.update_one(
        {"_id": "x"},
        {
            "$set": {"name": "X", "nested.deep": 1},
            "$inc": {"n": 2},
            "$push": {"log": "one"},
            "$addToSet": {"tags": {"$each": ["a", "b"]}},
            "$unset": {"gone": ""},
            "$max": {"hi": 9},
            "$min": {"lo": 2},
            "$setOnInsert": {"created": True},
        },
    )
    assert (result.matched_count, result.modified_count, result.upserted_id) == (1, 1, None)
    doc = await coll.find_one({"_id": "x"})
    assert doc == {
        "_id": "x",
        "n": 3,
        "tags": ["a", "b"],
        "hi": 9,
        "lo": 2,
        "name": "X",
        "nested": {"deep": 1},
        "log": ["one"],
    }

    unchanged = await coll.update_one({"_id": "x"}, {"$set": {"n": 3}})
    assert (unchanged.matched_count, unchanged.modified_count) == (1, 0)

    await coll.insert_many([{"_id": i, "group": "g", "v": 0} for i in range(5)])
    many = await coll.update_many({"group": "g"}, {"$inc": {"v": 10}})
    assert (many.matched_count, many.modified_count) == (5, 5)
    assert await coll.distinct("v", {"group": "g"}) == [10]

    replaced = await coll.replace_one({"_id": 0}, {"group": "h"})
    assert replaced.modified_count == 1
    assert await coll.find_one({"_id": 0}) == {"_id": 0, "group": "h"}

    with pytest.raises(WriteError):
        await coll.update_one({"_id": "x"}, {"$notAnOperator": {"n": 1}})
    assert (await coll.find_one({"_id": "x"}) or {})["n"] == 3  # still answering after the error


async def test_positional_update_and_bulk_write(mongo_db: Database) -> None:
    carts = mongo_db.carts
    await carts.insert_one({"_id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})
    after = await carts.find_one_and_update(
        {"items.sku": "b"}, {"$inc": {"items.$.qty": 3}}, return_document=ReturnDocument.AFTER
    )
    assert after == {"_id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 5}]}

    result = await carts.bulk_write(
        [
            InsertOne({"_id": 2, "items": []}),
            UpdateOne({"_id": 3}, {"$set": {"items": []}}, upsert=True),
            UpdateMany({}, {"$set": {"seen": True}}),
            ReplaceOne({"_id": 2}, {"items": [{"sku": "c", "qty": 1}]}),
            DeleteOne({"_id": 1}),
        ]
    )
    assert result.inserted_count == 1
    assert result.upserted_ids == {1: 3}
    assert result.matched_count == 4
    assert result.deleted_count == 1
    assert sorted(await carts.distinct("_id")) == [2, 3]


async def test_unacknowledged_writes_are_applied_without_a_reply(mongo_db: Database) -> None:
    fire_and_forget = mongo_db.get_collection("logs", write_concern=WriteConcern(w=0))
    result = await fire_and_forget.insert_one({"level": "info"})
    assert not result.acknowledged
    deadline = time.monotonic() + 5
    while await mongo_db.logs.count_documents({}) != 1:
        assert time.monotonic() < deadline, "unacknowledged insert never landed"
        await asyncio.sleep(0.01)
    assert (await mongo_db.command("ping"))["ok"] == 1.0  # the connection is still in step


async def test_upsert_returns_the_upserted_id_and_applies_set_on_insert(mongo_db: Database) -> None:
    coll = mongo_db.sessions
    first = await coll.update_one(
        {"visitor": "v1"}, {"$set": {"seen": 1}, "$setOnInsert": {"created": "now"}}, upsert=True
    )
    assert first.upserted_id is not None
    assert (first.matched_count, first.modified_count) == (0, 0)
    assert await coll.find_one({"_id": first.upserted_id}) == {
        "_id": first.upserted_id,
        "visitor": "v1",
        "seen": 1,
        "created": "now",
    }
    second = await coll.update_one(
        {"visitor": "v1"}, {"$set": {"seen": 2}, "$setOnInsert": {"created": "later"}}, upsert=True
    )
    assert second.upserted_id is None
    assert (second.matched_count, second.modified_count) == (1, 1)
    assert (await coll.find_one({"visitor": "v1"}) or {})["created"] == "now"

    replaced = await coll.replace_one({"_id": "fixed"}, {"visitor": "v2"}, upsert=True)
    assert replaced.upserted_id == "fixed"
    assert await coll.count_documents({}) == 2


async def test_find_one_and_update_counter_pattern(mongo_db: Database) -> None:
    counters = mongo_db.counters

    async def next_value() -> int:
        doc = await counters.find_one_and_update(
            {"_id": "ticket"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert doc is not None
        return int(doc["seq"])

    assert [await next_value() for _ in range(3)] == [1, 2, 3]
    concurrent = await asyncio.gather(*(next_value() for _ in range(20)))
    assert sorted(concurrent) == list(range(4, 24))

    before = await counters.find_one_and_update({"_id": "ticket"}, {"$inc": {"seq": 1}})
    assert before == {"_id": "ticket", "seq": 23}
    missing = await counters.find_one_and_update({"_id": "nope"}, {"$inc": {"seq": 1}})
    assert missing is None
    assert await counters.find_one_and_update({"_id": "new"}, {"$inc": {"seq": 1}}, upsert=True) is None


async def test_find_one_and_modify_variants_with_sort_and_projection(mongo_db: Database) -> None:
    queue = mongo_db.queue
    await queue.insert_many([{"_id": i, "prio": p, "state": "new"} for i, p in enumerate([2, 9, 5])])
    claimed = await queue.find_one_and_update(
        {"state": "new"},
        {"$set": {"state": "taken"}},
        sort=[("prio", DESCENDING)],
        projection={"_id": 1, "state": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert claimed == {"_id": 1, "state": "taken"}
    replaced = await queue.find_one_and_replace({"_id": 2}, {"prio": 0, "state": "reset"})
    assert replaced == {"_id": 2, "prio": 5, "state": "new"}
    deleted = await queue.find_one_and_delete(
        {"state": {"$in": ["new", "reset"]}}, sort=[("prio", ASCENDING)]
    )
    assert deleted == {"_id": 2, "prio": 0, "state": "reset"}
    assert await queue.count_documents({}) == 2
    assert await queue.find_one_and_delete({"state": "none"}) is None


async def test_delete_many_and_delete_one_counts(mongo_db: Database) -> None:
    coll = mongo_db.messages
    await coll.insert_many([{"conv": i % 3} for i in range(30)])
    assert (await coll.delete_one({"conv": 0})).deleted_count == 1
    assert (await coll.delete_many({"conv": 0})).deleted_count == 9
    assert (await coll.delete_many({"conv": 7})).deleted_count == 0
    assert await coll.count_documents({}) == 20


async def test_aggregate_match_group_sort_and_more(mongo_db: Database) -> None:
    leads = mongo_db.leads
    await leads.insert_many(
        [
            {"source": "web", "score": 10, "tags": ["x", "y"]},
            {"source": "web", "score": 30, "tags": ["y"]},
            {"source": "sms", "score": 5, "tags": []},
            {"source": "wa", "score": 50, "tags": ["x"]},
            {"source": "sms", "score": 7, "tags": ["z"]},
        ]
    )
    grouped = await leads.aggregate(
        [
            {"$match": {"score": {"$gte": 6}}},
            {"$group": {"_id": "$source", "total": {"$sum": "$score"}, "n": {"$sum": 1}}},
            {"$sort": {"total": DESCENDING}},
        ]
    ).to_list(None)
    assert grouped == [
        {"_id": "wa", "total": 50, "n": 1},
        {"_id": "web", "total": 40, "n": 2},
        {"_id": "sms", "total": 7, "n": 1},
    ]

    tags = await leads.aggregate(
        [{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    ).to_list(None)
    assert tags == [{"_id": "x", "n": 2}, {"_id": "y", "n": 2}, {"_id": "z", "n": 1}]

    counted = await leads.aggregate([{"$match": {"source": "sms"}}, {"$count": "n"}]).to_list(None)
    assert counted == [{"n": 2}]

    await mongo_db.sources.insert_many([{"_id": "web", "label": "Website"}, {"_id": "sms", "label": "SMS"}])
    joined = await leads.aggregate(
        [
            {"$match": {"source": "web"}},
            {"$lookup": {"from": "sources", "localField": "source", "foreignField": "_id", "as": "src"}},
            {"$project": {"_id": 0, "score": 1, "label": {"$arrayElemAt": ["$src.label", 0]}}},
            {"$sort": {"score": 1}},
            {"$limit": 1},
        ]
    ).to_list(None)
    assert joined == [{"score": 10, "label": "Website"}]

    faceted = await leads.aggregate(
        [{"$facet": {"hi": [{"$match": {"score": {"$gte": 30}}}, {"$count": "n"}], "all": [{"$count": "n"}]}}]
    ).to_list(None)
    assert faceted == [{"hi": [{"n": 2}], "all": [{"n": 5}]}]

    batched = leads.aggregate([{"$sort": {"score": 1}}], batchSize=2)
    assert [d["score"] async for d in batched] == [5, 7, 10, 30, 50]


async def test_count_documents_estimated_count_and_distinct(mongo_db: Database) -> None:
    coll = mongo_db.convs
    assert await coll.count_documents({}) == 0
    await coll.insert_many([{"channel": c, "open": i % 2 == 0} for i, c in enumerate("wwsswe")])
    assert await coll.count_documents({}) == 6
    assert await coll.count_documents({"open": True}) == 3
    assert await coll.count_documents({}, skip=2, limit=3) == 3
    assert await coll.estimated_document_count() == 6
    assert sorted(await coll.distinct("channel")) == ["e", "s", "w"]
    assert sorted(await coll.distinct("channel", {"open": True})) == ["s", "w"]
    assert await coll.distinct("channel", {"open": False, "channel": "w"}) == ["w"]


async def test_indexes_create_list_and_drop(mongo_db: Database) -> None:
    coll = mongo_db.indexed
    await coll.create_indexes(
        [
            IndexModel([("tenant", ASCENDING), ("email", ASCENDING)], unique=True, name="tenant_email"),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=3600),
        ]
    )
    indexes = {ix["name"]: ix async for ix in coll.list_indexes()}
    assert set(indexes) == {"_id_", "tenant_email", "expires_at_1"}
    assert dict(indexes["tenant_email"]["key"]) == {"tenant": 1, "email": 1}
    assert indexes["tenant_email"]["unique"] is True
    assert indexes["expires_at_1"]["expireAfterSeconds"] == 3600

    await coll.insert_one({"tenant": 1, "email": "a"})
    await coll.insert_one({"tenant": 2, "email": "a"})  # compound: only the pair must be unique
    with pytest.raises(DuplicateKeyError) as excinfo:
        await coll.insert_one({"tenant": 1, "email": "a"})
    assert "index: tenant_email" in str(excinfo.value)

    assert await coll.create_index(
        [("tenant", ASCENDING), ("email", ASCENDING)], unique=True, name="tenant_email"
    )
    await coll.drop_index("tenant_email")
    assert "tenant_email" not in await coll.index_information()
    await coll.insert_one({"tenant": 1, "email": "a"})
    with pytest.raises(OperationFailure) as missing:
        await coll.drop_index("no_such_index")
    assert missing.value.code == 27
    await coll.drop_indexes()
    assert list(await coll.index_information()) == ["_id_"]

    with pytest.raises(DuplicateKeyError):  # building a unique index over duplicates fails
        await coll.create_index([("tenant", ASCENDING), ("email", ASCENDING)], unique=True)
    assert [ix async for ix in mongo_db.never_created.list_indexes()] == []


async def test_collections_create_list_drop_and_drop_database(
    motor_client: Client, mongo_db: Database
) -> None:
    await mongo_db.create_collection("alpha")
    await mongo_db.beta.insert_one({"x": 1})
    with pytest.raises(CollectionInvalid):
        await mongo_db.create_collection("alpha")
    assert sorted(await mongo_db.list_collection_names()) == ["alpha", "beta"]
    assert await mongo_db.list_collection_names(filter={"name": "beta"}) == ["beta"]
    infos = [info async for info in await mongo_db.list_collections(filter={"name": {"$in": ["alpha"]}})]
    assert [(i["name"], i["type"]) for i in infos] == [("alpha", "collection")]

    await mongo_db.drop_collection("alpha")
    await mongo_db.drop_collection("never_existed")
    assert await mongo_db.list_collection_names() == ["beta"]

    await mongo_db.beta.rename("gamma")
    assert await mongo_db.list_collection_names() == ["gamma"]
    assert await mongo_db.gamma.count_documents({}) == 1

    assert "leadbot_test" in await motor_client.list_database_names()
    await motor_client.drop_database("leadbot_test")
    assert "leadbot_test" not in await motor_client.list_database_names()
    assert await mongo_db.list_collection_names() == []


# --------------------------------------------------------------------------- errors & limits


async def test_unknown_command_raises_operation_failure_and_the_connection_survives(
    mongo_db: Database,
) -> None:
    with pytest.raises(OperationFailure) as excinfo:
        await mongo_db.command("definitelyNotACommand", 1)
    assert excinfo.value.code == 59
    assert "definitelyNotACommand" in str(excinfo.value)
    await mongo_db.c.insert_one({"a": 1, "b": 2})
    with pytest.raises(OperationFailure) as engine_error:  # mongomock raises ValueError for this
        await mongo_db.c.find_one({}, {"a": 1, "b": 0})
    assert engine_error.value.code == 2
    await mongo_db.c.insert_one({"still": "works"})
    assert await mongo_db.c.count_documents({"still": "works"}) == 1


async def test_unsupported_features_fail_with_clear_errors(motor_client: Client, mongo_db: Database) -> None:
    await mongo_db.c.insert_one({"x": 1})
    with pytest.raises(OperationFailure) as change_stream:
        async with mongo_db.c.watch():
            pass
    assert change_stream.value.code == 40573

    with pytest.raises(OperationFailure) as out:
        await mongo_db.c.aggregate([{"$out": "copy"}]).to_list(None)
    assert out.value.code == 238
    assert "$out" in str(out.value)

    with pytest.raises(OperationFailure) as transaction:
        async with await motor_client.start_session() as session, session.start_transaction():
            await mongo_db.c.insert_one({"x": 2}, session=session)
    assert transaction.value.code == 20
    assert await mongo_db.c.count_documents({}) == 1

    with pytest.raises(OperationFailure) as collation:
        await mongo_db.c.find({}, collation={"locale": "fr"}).to_list(None)
    assert collation.value.code == 238


# --------------------------------------------------------------------------- concurrency & processes


async def test_fifty_concurrent_inserts_all_land(mongo_db: Database) -> None:
    await mongo_db.events.create_index("seq", unique=True)
    await asyncio.gather(*(mongo_db.events.insert_one({"seq": i}) for i in range(50)))
    assert await mongo_db.events.count_documents({}) == 50
    assert sorted(await mongo_db.events.distinct("seq")) == list(range(50))


async def test_two_clients_see_each_others_writes(mongo: MongoWireStandIn, motor_client: Client) -> None:
    other = connect(mongo.uri)
    try:
        await motor_client.shared.c.insert_one({"_id": 1, "by": "first"})
        assert await other.shared.c.find_one({"_id": 1}) == {"_id": 1, "by": "first"}
        await other.shared.c.update_one({"_id": 1}, {"$set": {"by": "second"}})
        assert await motor_client.shared.c.find_one({"_id": 1}) == {"_id": 1, "by": "second"}
    finally:
        other.close()


async def test_subprocess_mode_prints_ready_serves_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.mongo_wire",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        assert line.startswith("READY mongodb://127.0.0.1:"), line
        uri = line.split(" ", 1)[1].strip()
        client = connect(uri)
        try:
            await client.leadbot.c.insert_one({"from": "parent"})
            assert await client.leadbot.c.find_one({}, {"_id": 0}) == {"from": "parent"}
        finally:
            client.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
        port = int(uri.split(":")[2].split("/")[0])
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# --------------------------------------------------------------------------- speed


async def test_latency_per_insert_and_find_one(mongo_db: Database) -> None:
    """Records µs per operation through motor; mongomock scans, so find_one grows with the collection."""
    rounds = 300

    async def timed(operation: Callable[[int], Awaitable[object]]) -> float:
        started = time.perf_counter()
        for i in range(rounds):
            assert await operation(i) is not None
        return (time.perf_counter() - started) / rounds * 1e6

    small = mongo_db.small
    await small.insert_many([{"_id": i, "body": "hello" * 10} for i in range(10)])
    big = mongo_db.big
    await big.insert_one({"warm": True})

    insert_us = await timed(lambda i: big.insert_one({"_id": i, "body": "hello" * 10}))
    find_small_us = await timed(lambda i: small.find_one({"_id": i % 10}))
    find_big_us = await timed(lambda i: big.find_one({"_id": i}))
    print(
        f"\nmongo wire stand-in via motor: insert_one {insert_us:.0f} us; "
        f"find_one {find_small_us:.0f} us (10 docs), {find_big_us:.0f} us ({rounds + 1} docs)"
    )
    assert await big.count_documents({}) == rounds + 1
    assert max(insert_us, find_small_us, find_big_us) < 20_000, (insert_us, find_small_us, find_big_us)
