"""The embedded store's look-ups return exactly what mongomock's full scan returns."""

from __future__ import annotations

import itertools
from typing import Any

import mongomock
import pytest
from bson import ObjectId

from bot.embedded_index import accelerate

OID = ObjectId()
VALUES: list[Any] = ["a", "b", 1, 1.0, True, 0, None, OID, ["a", "x"], [1, 2], {"k": "a"}, [{"k": 1}], "", []]


def _databases() -> tuple[Any, Any]:
    plain = mongomock.MongoClient()["db"]
    fast_client = mongomock.MongoClient()
    accelerate(fast_client["db"])
    return plain, fast_client["db"]


def _seed(db: Any) -> None:
    docs = []
    for i, (conv, key) in enumerate(itertools.product(VALUES, VALUES[:6])):
        doc: dict[str, Any] = {"_id": f"m{i}", "seq": i, "dedupe_key": key}
        if conv is not None or i % 2:
            doc["conversation_id"] = conv  # sometimes missing, sometimes an explicit null
        docs.append(doc)
    db.messages.insert_many(docs)
    db.conversations.insert_many([{"_id": i, "visitor_token_hash": v} for i, v in enumerate(VALUES[:8])])


QUERIES: list[dict[str, Any]] = [
    *({"conversation_id": v} for v in VALUES),
    *({"dedupe_key": v} for v in VALUES),
    *({"_id": v} for v in ["m0", "m5", "nope", 3, None]),
    {"conversation_id": "a", "seq": {"$gt": 20}},
    {"conversation_id": {"$in": ["a", 1]}},
    {"conversation_id": {"$exists": False}},
    {"conversation_id": "a", "dedupe_key": "b"},
    {"$or": [{"conversation_id": "a"}, {"dedupe_key": 1}]},
    {"conversation_id.k": "a"},
    {},
]


def _result(db: Any, name: str, query: dict[str, Any]) -> list[Any]:
    return sorted((repr(d) for d in db[name].find(query)), key=str)


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_accelerated_queries_match_a_full_scan(query: dict[str, Any]) -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        _seed(db)
    for name in ("messages", "conversations"):
        assert _result(fast, name, query) == _result(plain, name, query)


def test_writes_keep_the_look_ups_true() -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        _seed(db)
        db.messages.delete_many({"conversation_id": "a"})
        db.messages.replace_one({"_id": "m100"}, {"_id": "m100", "conversation_id": "moved", "seq": 1})
        db.messages.insert_one({"_id": "new", "conversation_id": "a", "dedupe_key": "z"})
        db.messages.update_many({"dedupe_key": "b"}, {"$set": {"seq": -1}})
    for query in [*QUERIES, {"conversation_id": "moved"}, {"dedupe_key": "z"}]:
        assert _result(fast, "messages", query) == _result(plain, "messages", query), query
    for db in (plain, fast):
        db.messages.drop()
        db.messages.insert_one({"_id": 1, "conversation_id": "after-drop"})
    assert _result(fast, "messages", {"conversation_id": "after-drop"}) == [
        repr({"_id": 1, "conversation_id": "after-drop"})
    ]


def test_unique_indexes_still_refuse_duplicates() -> None:
    _, fast = _databases()
    fast.messages.create_index("dedupe_key", unique=True, sparse=True)
    fast.messages.insert_one({"_id": 1, "dedupe_key": "k"})
    with pytest.raises(mongomock.DuplicateKeyError):
        fast.messages.insert_one({"_id": 2, "dedupe_key": "k"})
    assert _result(fast, "messages", {"dedupe_key": "k"}) == [repr({"_id": 1, "dedupe_key": "k"})]
