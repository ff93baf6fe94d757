"""The embedded store's look-ups return exactly what mongomock's full scan returns, in the same order."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import mongomock
import pytest
from bson import Binary, ObjectId
from bson.int64 import Int64

from bot.embedded_index import IndexedCollectionStore, accelerate

OID = ObjectId()
VALUES: list[Any] = ["a", "b", 1, 1.0, True, 0, None, OID, ["a", "x"], [1, 2], {"k": "a"}, [{"k": 1}], "", []]
# What a lead's contact slots can hold, sensible or not: strings, numbers, nothing, arrays,
# sub-documents, values that are not plain keys (NaN, Int64, Binary).
CONTACTS: list[Any] = [
    "a@x.io",
    "b@x.io",
    "+14155550100",
    4155550100,
    4155550100.0,
    None,
    ["a@x.io", "c@x.io"],
    [{"k": 1}],
    {"k": "a@x.io"},
    float("nan"),
    Int64(4155550100),
    Binary(b"a@x.io", 0),
    b"a@x.io",
    "",
]
MISSING = object()


def _databases() -> tuple[Any, Any]:
    plain: Any = mongomock.MongoClient()["db"]
    fast_client: Any = mongomock.MongoClient()
    accelerate(fast_client["db"])
    return plain, fast_client["db"]


def _lead(i: int, email: Any, phone: Any) -> dict[str, Any]:
    slots = {k: v for k, v in (("email", email), ("phone", phone)) if v is not MISSING}
    return {"_id": f"l{i}", "n": i, "slots": slots}


def _seed(db: Any) -> None:
    docs = []
    for i, (conv, key) in enumerate(itertools.product(VALUES, VALUES[:6])):
        doc: dict[str, Any] = {"_id": f"m{i}", "seq": i, "dedupe_key": key}
        if conv is not None or i % 2:
            doc["conversation_id"] = conv  # sometimes missing, sometimes an explicit null
        docs.append(doc)
    db.messages.insert_many(docs)
    db.conversations.insert_many(
        [{"_id": i, "visitor_token_hash": v, "contact_key": v} for i, v in enumerate(VALUES[:8])]
    )
    contacts = [*CONTACTS, MISSING]
    leads = [_lead(i, e, p) for i, (e, p) in enumerate(itertools.product(contacts, contacts[::3]))]
    leads += [
        {"_id": "no-slots"},
        {"_id": "scalar-slots", "slots": "a@x.io"},
        {"_id": "array-slots", "slots": [{"email": "a@x.io"}, {"phone": 4155550100}]},
        {"_id": "null-slots", "slots": None},
    ]
    db.leads.insert_many(leads)


QUERIES: list[dict[str, Any]] = [
    *({"conversation_id": v} for v in VALUES),
    *({"dedupe_key": v} for v in VALUES),
    *({"_id": v} for v in ["m0", "m5", "nope", 3, None]),
    {"conversation_id": "a", "seq": {"$gt": 20}},
    {"conversation_id": {"$in": ["a", 1]}},
    {"conversation_id": {"$in": []}},
    {"conversation_id": {"$eq": "b"}},
    {"conversation_id": {"$exists": False}},
    {"conversation_id": "a", "dedupe_key": "b"},
    {"$or": [{"conversation_id": "a"}, {"dedupe_key": 1}]},
    {"$or": [{"conversation_id": "a"}, {"seq": 3}]},  # one clause the index cannot answer
    {"$and": [{"seq": {"$lt": 30}}, {"conversation_id": "b"}]},
    {"_id": {"$in": ["m1", "m2", "l3", "nope"]}},
    {"conversation_id.k": "a"},
    {},
]
LEAD_QUERIES: list[dict[str, Any]] = [
    *({"slots.email": v} for v in CONTACTS),
    *({"slots.phone": v} for v in CONTACTS),
    *({"contact_key": v} for v in VALUES),
    {"$or": [{"slots.email": "a@x.io"}]},
    {"$or": [{"slots.email": "a@x.io"}, {"slots.phone": 4155550100}], "_id": {"$ne": "l0"}},
    {"$or": [{"slots.email": "b@x.io"}, {"slots.phone": "+14155550100"}]},
    {"$or": [{"slots.email": "c@x.io"}, {"slots.phone": None}]},  # a clause on a missing field
    {"$or": [{"slots.email": "a@x.io"}, {"n": 3}]},
    {"$or": [{"slots.email": "a@x.io"}, {"slots.phone": {"$exists": False}}]},
    {"$or": []},
    {"slots.email": {"$in": ["a@x.io", "b@x.io"]}},
    {"slots.email": {"$exists": True}},
    {"slots": {"email": "a@x.io"}},
    {"slots.email": "a@x.io", "slots.phone": {"$type": "string"}},
]
COLLECTIONS = ("messages", "conversations", "leads")


def _result(db: Any, name: str, query: dict[str, Any]) -> list[str]:
    try:
        return [repr(d) for d in db[name].find(query)]  # natural order, as a full scan gives it
    except mongomock.OperationFailure as exc:  # a filter mongomock refuses: refused the same way
        return [f"refused: {exc}"]


def _same(plain: Any, fast: Any, queries: list[dict[str, Any]], names: tuple[str, ...] = COLLECTIONS) -> None:
    for name in names:
        for query in queries:
            assert _result(fast, name, query) == _result(plain, name, query), (name, query)


@pytest.mark.parametrize("query", QUERIES + LEAD_QUERIES, ids=repr)
def test_accelerated_queries_match_a_full_scan(query: dict[str, Any]) -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        _seed(db)
    _same(plain, fast, [query])


def test_writes_keep_the_look_ups_true() -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        _seed(db)
        db.messages.delete_many({"conversation_id": "a"})
        db.messages.replace_one({"_id": "m100"}, {"_id": "m100", "conversation_id": "moved", "seq": 1})
        db.messages.insert_one({"_id": "new", "conversation_id": "a", "dedupe_key": "z"})
        db.messages.update_many({"dedupe_key": "b"}, {"$set": {"seq": -1}})
    _same(plain, fast, [*QUERIES, {"conversation_id": "moved"}, {"dedupe_key": "z"}], ("messages",))
    for db in (plain, fast):
        db.messages.drop()
        db.messages.insert_one({"_id": 1, "conversation_id": "after-drop"})
    assert _result(fast, "messages", {"conversation_id": "after-drop"}) == [
        repr({"_id": 1, "conversation_id": "after-drop"})
    ]


# Writes that move documents between index entries: (name, write) applied to both databases.
Write = Callable[[Any, random.Random], object]


def _some_contact(rng: random.Random) -> Any:
    return rng.choice([*CONTACTS[:7], "new@x.io", [{"email": "a@x.io"}]])


def _some_lead(rng: random.Random) -> str:
    return f"l{rng.randrange(60)}"


WRITES: list[tuple[str, Write]] = [
    (
        "set email",
        lambda db, r: db.leads.update_one(
            {"_id": _some_lead(r)}, {"$set": {"slots.email": _some_contact(r)}}
        ),
    ),
    (
        "set phone by email",
        lambda db, r: db.leads.update_many(
            {"slots.email": "a@x.io"}, {"$set": {"slots.phone": _some_contact(r)}}
        ),
    ),
    (
        "unset email",
        lambda db, r: db.leads.update_one({"_id": _some_lead(r)}, {"$unset": {"slots.email": ""}}),
    ),
    (
        "rename slots",
        lambda db, r: db.leads.update_one({"_id": _some_lead(r)}, {"$rename": {"slots": "old_slots"}}),
    ),
    (
        "email to an empty array",
        lambda db, r: db.leads.update_one(
            {"_id": _some_lead(r)}, {"$set": {"slots.email": []}, "$inc": {"n": 1}}
        ),
    ),
    (
        "replace",
        lambda db, r: db.leads.replace_one({"_id": _some_lead(r)}, {"slots": {"phone": _some_contact(r)}}),
    ),
    ("replace by phone", lambda db, r: db.leads.replace_one({"slots.phone": "+14155550100"}, {"slots": {}})),
    (
        "upsert",
        lambda db, r: db.leads.replace_one(
            {"_id": f"u{r.randrange(5)}"}, {"slots": {"email": _some_contact(r)}}, upsert=True
        ),
    ),
    (
        "upsert by update",
        lambda db, r: db.leads.update_one(
            {"_id": f"v{r.randrange(5)}"}, {"$set": {"slots.phone": _some_contact(r)}}, upsert=True
        ),
    ),
    (
        "find and modify",
        lambda db, r: db.leads.find_one_and_update(
            {"slots.email": _some_contact(r)}, {"$set": {"slots.email": _some_contact(r)}}
        ),
    ),
    (
        "pipeline",
        lambda db, r: db.leads.update_one({"_id": _some_lead(r)}, [{"$set": {"slots": {"email": "a@x.io"}}}]),
    ),
    ("delete", lambda db, r: db.leads.delete_one({"slots.email": _some_contact(r)})),
    (
        "delete by or",
        lambda db, r: db.leads.delete_many(
            {"$or": [{"slots.email": "b@x.io"}, {"slots.phone": "+14155550100"}]}
        ),
    ),
    (
        "insert",
        lambda db, r: db.leads.insert_one(
            {"_id": f"i{r.randrange(10**9)}", "slots": {"email": _some_contact(r)}}
        ),
    ),
    (
        "delete and insert again",
        lambda db, r: (
            db.leads.delete_one({"_id": "l1"}),
            db.leads.insert_one({"_id": "l1", "slots": {"email": "a@x.io"}}),
        ),
    ),
    (
        "set contact key",
        lambda db, r: db.conversations.update_one(
            {"_id": r.randrange(8)}, {"$set": {"contact_key": _some_contact(r)}}
        ),
    ),
    (
        "move message",
        lambda db, r: db.messages.update_many(
            {"dedupe_key": r.choice(VALUES[:6])}, {"$set": {"conversation_id": "b"}}
        ),
    ),
]


@pytest.mark.parametrize("seed", range(6))
def test_every_kind_of_write_keeps_the_look_ups_true(seed: int) -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        _seed(db)
    rng = random.Random(seed)
    for step in range(40):
        name, write = rng.choice(WRITES)
        state = rng.getstate()
        for db in (plain, fast):
            rng.setstate(state)  # the same random choices for both databases
            try:
                write(db, rng)
            except Exception as exc:  # e.g. $set on a sub-field of an array: both refuse alike
                outcome = type(exc).__name__
            else:
                outcome = "ok"
            if db is plain:
                plain_outcome = outcome
        assert outcome == plain_outcome, (step, name)
        _same(plain, fast, LEAD_QUERIES, ("leads",))
    _same(plain, fast, QUERIES + LEAD_QUERIES)


@pytest.mark.parametrize(
    "change",
    [
        lambda db: db.leads.update_one({"_id": 2}, {"$set": {"slots.email": "a@x.io"}}),
        lambda db: db.leads.replace_one({"_id": 2}, {"slots": {"email": "a@x.io"}}),
        lambda db: db.leads.find_one_and_update({"_id": 2}, {"$set": {"slots": {"email": "a@x.io"}}}),
        lambda db: db.leads.insert_one({"_id": 3, "slots": {"email": "a@x.io"}}),
    ],
    ids=["update", "replace", "find_one_and_update", "insert"],
)
def test_a_unique_index_refuses_a_changed_field_that_is_taken(change: Callable[[Any], object]) -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        db.leads.create_index("slots.email", unique=True, sparse=True)
        db.leads.insert_many(
            [{"_id": 1, "slots": {"email": "a@x.io"}}, {"_id": 2, "slots": {"email": "b@x.io"}}]
        )
        with pytest.raises(mongomock.DuplicateKeyError):
            change(db)
    _same(plain, fast, [*LEAD_QUERIES, {"slots.email": "b@x.io"}], ("leads",))  # rolled back, index too
    assert _result(fast, "leads", {"slots.email": "b@x.io"}) == [
        repr({"_id": 2, "slots": {"email": "b@x.io"}})
    ]
    fast.leads.update_one({"_id": 2}, {"$set": {"slots.email": "c@x.io"}})  # free: allowed
    assert [d["_id"] for d in fast.leads.find({"slots.email": "c@x.io"})] == [2]


def test_unique_indexes_still_refuse_duplicates() -> None:
    _, fast = _databases()
    fast.messages.create_index("dedupe_key", unique=True, sparse=True)
    fast.messages.insert_one({"_id": 1, "dedupe_key": "k"})
    with pytest.raises(mongomock.DuplicateKeyError):
        fast.messages.insert_one({"_id": 2, "dedupe_key": "k"})
    assert _result(fast, "messages", {"dedupe_key": "k"}) == [repr({"_id": 1, "dedupe_key": "k"})]


def test_collections_made_later_get_look_ups_by_id_and_keep_their_order() -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        db.users.insert_many([{"_id": i, "v": i % 3} for i in range(20)])
        db.users.delete_one({"_id": 4})
        db.users.insert_one({"_id": 4, "v": 9})  # back, at the end of the natural order
        db.users.replace_one({"_id": 7}, {"v": 7})  # replaced where it was
    queries: list[dict[str, Any]] = [
        {"_id": 4},
        {"_id": {"$in": [9, 4, 7, 1]}},
        {"v": 1},
        {"$or": [{"_id": 4}, {"_id": 2}]},
        {},
    ]
    _same(plain, fast, queries, ("users",))
    assert isinstance(fast.users._store, IndexedCollectionStore)


def test_a_malformed_filter_is_refused_even_when_the_index_finds_nothing() -> None:
    plain, fast = _databases()
    for db in (plain, fast):
        db.leads.insert_one({"_id": 1, "slots": {"email": "a@x.io"}})
        with pytest.raises(mongomock.OperationFailure, match=r"\$bad"):
            list(db.leads.find({"$bad": 1, "slots.email": "nobody@x.io"}))
