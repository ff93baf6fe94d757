"""A MongoDB wire-protocol stand-in for tests: mockupdb on the socket, mongomock as the engine.

No ``mongod`` can be installed on the machines this project is tested on, yet the production store
talks to MongoDB through motor/pymongo. :class:`MongoWireStandIn` gives the real driver a real TCP
socket: `mockupdb <https://github.com/mongodb-labs/mongo-mockup-db>`_ decodes the wire protocol
(OP_MSG, plus OP_QUERY for the legacy ``isMaster`` handshake) and every command is executed against
one :class:`mongomock.MongoClient`. Because the driver is the real one, its behaviour is exercised
for real: connection pool, server selection, handshake, cursors with ``getMore``/``killCursors``,
write-error parsing into ``DuplicateKeyError``/``BulkWriteError``/``WriteError``, and so on.

Usage in-process (the server runs in daemon threads)::

    with MongoWireStandIn() as mongo:
        client = AsyncIOMotorClient(mongo.uri, tz_aware=True)
        ...

Usage as a separate process (for tests with several server processes sharing one database)::

    $ python -m tests.support.mongo_wire [--port N]
    READY mongodb://127.0.0.1:PORT/?directConnection=true

It prints exactly that one line (flushed) once it accepts connections and serves until SIGTERM or
SIGINT, then exits with status 0.

The stand-in presents itself as a standalone MongoDB 7.0 (``maxWireVersion`` 21) with logical
sessions. Session/transaction plumbing fields sent by the driver (``lsid``, ``txnNumber``,
``$clusterTime``, ``readConcern``, ``writeConcern``, ``$readPreference``, ``apiVersion``, ``comment``,
``maxTimeMS``, ``hint``...) are ignored; ``$db`` routes the command to a database.

Supported commands
    Handshake/admin: ``hello``, ``isMaster``/``ismaster``, ``ping``, ``buildInfo``, ``endSessions``,
    ``killAllSessions``, ``listDatabases``, ``getLastError``, ``whatsmyuri``, ``connectionStatus``.
    CRUD: ``insert``, ``find``, ``getMore``, ``killCursors``, ``update``, ``delete``,
    ``findAndModify``, ``aggregate``, ``count``, ``distinct``.
    DDL: ``create``, ``drop``, ``dropDatabase``, ``listCollections``, ``createIndexes``,
    ``listIndexes``, ``dropIndexes``, ``renameCollection`` (same database only).
    Anything else gets ``{ok: 0, code: 59, codeName: "CommandNotFound"}``, so the driver raises
    ``OperationFailure`` instead of hanging.

Errors are answered the way a server answers them, never by dropping the connection: per-document
``writeErrors`` for ``insert``/``update``/``delete`` (duplicate keys as code 11000 with an
``E11000 duplicate key error collection: db.coll index: NAME dup key: {...}`` message plus
``keyPattern``/``keyValue`` where the conflicting index can be determined, which is always the case
for inserts); command errors elsewhere (duplicate key in ``findAndModify`` is code 11000 too).
mongomock's ``OperationFailure`` keeps its code (BadValue=2 when it has none),
``NotImplementedError`` becomes code 238 ``NotImplemented``, other engine exceptions become
``ok: 0`` with the message.

Known limits (deliberately answered with a clear error rather than emulated badly)
    * Transactions: any command carrying ``startTransaction``/``autocommit``, and
      ``commitTransaction``/``abortTransaction``, fail with code 20 ``IllegalOperation``
      ("Transaction numbers are only allowed on a replica set member or mongos"), exactly like a
      real standalone server.
    * Change streams (``$changeStream``) fail with code 40573, like a standalone server.
    * ``$out`` and ``$merge`` stages, ``explain``, database-level ``aggregate: 1``, tailable
      cursors, ``collation``, ``let`` and (in this mongomock version) ``arrayFilters`` fail with
      code 238 ``NotImplemented``. ``create`` with options (capped, validator, timeseries, views...)
      fails the same way.
    * Query/update/aggregation semantics are mongomock's: most operators work, some do not
      (``$text``, geo queries, ``$sortByCount``, ``$unset`` stage, ``$where``, ``$rename`` with dots,
      some expression operators). Unsupported ones surface as command errors or write errors.
    * Cursors are snapshots: the full result is materialised when the cursor is opened and handed
      out in batches (101 documents or 16 MiB for the first batch, then ``batchSize`` or 16 MiB), so
      later writes are not seen by an open cursor. Idle cursors are reaped after ``cursor_timeout``.
    * Indexes only enforce uniqueness (``unique``, ``sparse``, ``partialFilterExpression``); they do
      not speed anything up, and unique checks scan the collection, so inserts into a collection
      with a unique index are O(n). ``expireAfterSeconds`` is accepted and mongomock applies it
      lazily whenever the collection is read (immediately, not on mongod's 60 s monitor cycle).
      A sparse unique index treats an explicit ``null`` like a missing field (mongod does not).
    * No authentication, TLS, compression, replica-set or sharding behaviour; no ``hello``
      streaming (the driver polls every ``heartbeatFrequencyMS``). No durability: data lives in
      the process and is gone when it stops.
    * Every query is a full collection scan (mongomock has no indexes), ``find_one({"_id": x})``
      included. Duplicate-key errors from ``update``/``findAndModify`` name the namespace but not
      the index (mongomock does not say which one; inserts do).
    * The whole engine is serialised behind one lock (mongomock is not thread-safe), and mockupdb
      itself handles one request at a time across all connections; this is a correctness
      stand-in, not a load-testing target. Measured through motor: roughly 0.25-0.4 ms per
      ``insert_one`` or ``find_one`` on a small collection, plus ~1 µs per document scanned.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

import bson
import mongomock
import mongomock.filtering
import mongomock.helpers
from bson import json_util
from bson.int64 import Int64
from mockupdb import (
    OP_MSG_FLAGS,
    REPLY_FLAGS,
    Command,
    MockupDB,
    OpGetMore,
    OpMsg,
    OpMsgReply,
    OpQuery,
    OpReply,
)
from pymongo.errors import DuplicateKeyError, OperationFailure

__all__ = ["MAX_WIRE_VERSION", "CommandError", "MongoWireStandIn", "main"]

Document = dict[str, Any]

#: Presented as MongoDB 7.0: inside pymongo's supported range, below 8.0 (25) so the driver never
#: uses the client-level ``bulkWrite`` command.
MAX_WIRE_VERSION = 21
SERVER_VERSION = "7.0.0"
MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE_BYTES = 48_000_000
MAX_WRITE_BATCH_SIZE = 100_000
DEFAULT_FIRST_BATCH = 101
#: Documents per batch are additionally capped at this many bytes, like the real server.
MAX_BATCH_BYTES = MAX_BSON_OBJECT_SIZE

_CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    14: "TypeMismatch",
    20: "IllegalOperation",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    85: "IndexOptionsConflict",
    238: "NotImplemented",
    11000: "DuplicateKey",
    40573: "Location40573",
}

# mongomock ships py.typed but leaves these unannotated; give them signatures once.
_filter_applies: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] = mongomock.filtering.filter_applies
_get_value_by_dot: Callable[[Mapping[str, Any], str], Any] = mongomock.helpers.get_value_by_dot
_gen_index_name: Callable[[list[tuple[str, Any]]], str] = mongomock.helpers.gen_index_name

_TRANSACTION_ERROR = "Transaction numbers are only allowed on a replica set member or mongos"


class CommandError(Exception):
    """An error answered to the client as ``{ok: 0, code, codeName, errmsg}``."""

    def __init__(self, code: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.extra = extra

    def document(self) -> Document:
        return _error_document(self.code, self.errmsg, **self.extra)


def _error_document(code: int, errmsg: str, **extra: Any) -> Document:
    doc: Document = {"ok": 0.0, "errmsg": errmsg, "code": code}
    if code in _CODE_NAMES:
        doc["codeName"] = _CODE_NAMES[code]
    doc.update(extra)
    return doc


def _unsupported(what: str) -> CommandError:
    return CommandError(238, f"{what} is not supported by the mongomock wire stand-in")


def _format_key_value(value: Mapping[str, Any]) -> str:
    parts = [f"{key}: {json_util.dumps(val)}" for key, val in value.items()]
    return "{ " + ", ".join(parts) + " }"


def _is_replacement(update: Any) -> bool:
    if isinstance(update, list):  # aggregation-pipeline update
        return False
    return not any(isinstance(key, str) and key.startswith("$") for key in update)


def _sort_list(sort: Any) -> list[tuple[str, Any]] | None:
    if not sort:
        return None
    if isinstance(sort, Mapping):
        return list(sort.items())
    return [(str(key), direction) for key, direction in sort]


def _reject_options(cmd: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if cmd.get(name):
            raise _unsupported(f"'{name}'")


def _next_batch(docs: list[Document], pos: int, count: int | None) -> tuple[list[Document], int]:
    """Take up to ``count`` documents (``None``: no count limit) and at most MAX_BATCH_BYTES."""
    batch: list[Document] = []
    size = 0
    while pos < len(docs) and (count is None or len(batch) < count):
        doc_size = len(bson.encode(docs[pos]))
        if batch and size + doc_size > MAX_BATCH_BYTES:
            break
        batch.append(docs[pos])
        size += doc_size
        pos += 1
    return batch, pos


@dataclass
class _Cursor:
    ns: str
    docs: list[Document]
    pos: int
    last_used: float = field(default_factory=time.monotonic)


Handler = Callable[[str, Mapping[str, Any]], Document]


class _Engine:
    """Executes decoded commands against one mongomock client, one command at a time."""

    def __init__(self, cursor_timeout: float) -> None:
        self._lock = threading.RLock()
        self._client: Any = mongomock.MongoClient()
        self._cursors: dict[int, _Cursor] = {}
        self._cursor_timeout = cursor_timeout
        self._handlers: dict[str, Handler] = {
            "hello": self._hello,
            "isMaster": self._hello,
            "ismaster": self._hello,
            "ping": self._ok,
            "buildInfo": self._build_info,
            "buildinfo": self._build_info,
            "endSessions": self._ok,
            "killAllSessions": self._ok,
            "getLastError": self._get_last_error,
            "getlasterror": self._get_last_error,
            "whatsmyuri": self._whatsmyuri,
            "connectionStatus": self._connection_status,
            "listDatabases": self._list_databases,
            "insert": self._insert,
            "find": self._find,
            "getMore": self._get_more,
            "killCursors": self._kill_cursors,
            "update": self._update,
            "delete": self._delete,
            "findAndModify": self._find_and_modify,
            "findandmodify": self._find_and_modify,
            "aggregate": self._aggregate,
            "count": self._count,
            "distinct": self._distinct,
            "create": self._create,
            "drop": self._drop,
            "dropDatabase": self._drop_database,
            "listCollections": self._list_collections,
            "createIndexes": self._create_indexes,
            "listIndexes": self._list_indexes,
            "dropIndexes": self._drop_indexes,
            "deleteIndexes": self._drop_indexes,
            "renameCollection": self._rename_collection,
            "commitTransaction": self._transaction_command,
            "abortTransaction": self._transaction_command,
        }

    # ------------------------------------------------------------------ plumbing

    def run(self, db: str, cmd: Mapping[str, Any], connection_id: int) -> Document:
        """Run one command document; always returns a reply document (``ok`` 1 or 0)."""
        name = next(iter(cmd), None)
        if name is None:
            return _error_document(59, "no such command: ''")
        handler = self._handlers.get(name)
        if handler is None:
            return _error_document(59, f"no such command: '{name}'")
        if "startTransaction" in cmd or "autocommit" in cmd:
            return _error_document(20, _TRANSACTION_ERROR)
        if name in ("hello", "isMaster", "ismaster"):
            reply = self._hello(db, cmd)
            reply["connectionId"] = connection_id
            return reply
        try:
            with self._lock:
                return handler(db, cmd)
        except CommandError as exc:
            return exc.document()
        except DuplicateKeyError:
            ns = f"{db}.{cmd[name]}" if isinstance(cmd[name], str) else db
            return _error_document(11000, f"E11000 duplicate key error collection: {ns}")
        except Exception as exc:
            return self._exception_document(exc)

    @staticmethod
    def _exception_document(exc: BaseException) -> Document:
        if isinstance(exc, CommandError):
            return exc.document()
        if isinstance(exc, OperationFailure):
            code = exc.code if isinstance(exc.code, int) and exc.code else 2
            return _error_document(code, str(exc))
        if isinstance(exc, NotImplementedError):
            return _error_document(238, f"not supported by the mongomock engine: {exc}")
        if isinstance(exc, ValueError | TypeError | KeyError | bson.errors.InvalidDocument):
            return _error_document(2, f"{type(exc).__name__}: {exc}")
        return _error_document(1, f"mongomock engine error: {type(exc).__name__}: {exc}")

    def reset(self) -> None:
        with self._lock:
            self._client = mongomock.MongoClient()
            self._cursors.clear()

    def close_cursors(self) -> None:
        with self._lock:
            self._cursors.clear()

    @property
    def open_cursor_count(self) -> int:
        with self._lock:
            return len(self._cursors)

    def _collection(self, db: str, name: Any) -> Any:
        if not isinstance(name, str) or not name:
            raise CommandError(73, f"Invalid collection name: {name!r}")
        return self._client[db][name]

    def _collection_exists(self, db: str, name: str) -> bool:
        return name in self._client[db].list_collection_names()

    def _open_cursor(
        self, ns: str, docs: list[Document], batch_size: Any, single_batch: bool = False
    ) -> Document:
        count: int | None = DEFAULT_FIRST_BATCH
        if isinstance(batch_size, int) and not isinstance(batch_size, bool):
            if batch_size < 0:
                batch_size, single_batch = -batch_size, True
            count = batch_size
        batch, pos = _next_batch(docs, 0, count)
        cursor_id = 0
        if pos < len(docs) and not single_batch:
            self._reap_idle_cursors()
            cursor_id = random.randint(1, 2**62)
            while cursor_id in self._cursors:
                cursor_id = random.randint(1, 2**62)
            self._cursors[cursor_id] = _Cursor(ns, docs, pos)
        return {"cursor": {"firstBatch": batch, "id": Int64(cursor_id), "ns": ns}, "ok": 1.0}

    def _reap_idle_cursors(self) -> None:
        deadline = time.monotonic() - self._cursor_timeout
        for cursor_id in [cid for cid, cur in self._cursors.items() if cur.last_used < deadline]:
            del self._cursors[cursor_id]

    # ------------------------------------------------------------------ handshake / admin

    def _hello(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {
            "helloOk": True,
            "ismaster": True,
            "isWritablePrimary": True,
            "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
            "maxMessageSizeBytes": MAX_MESSAGE_SIZE_BYTES,
            "maxWriteBatchSize": MAX_WRITE_BATCH_SIZE,
            "localTime": dt.datetime.now(dt.UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": 0,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
            "ok": 1.0,
        }

    def _ok(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {"ok": 1.0}

    def _build_info(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {
            "version": SERVER_VERSION,
            "versionArray": [int(part) for part in SERVER_VERSION.split(".")] + [0],
            "gitVersion": "mongomock-wire-stand-in",
            "bits": 64,
            "debug": False,
            "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
            "storageEngines": ["mongomock"],
            "ok": 1.0,
        }

    def _get_last_error(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {"err": None, "n": 0, "ok": 1.0}

    def _whatsmyuri(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {"you": "127.0.0.1", "ok": 1.0}

    def _connection_status(self, db: str, cmd: Mapping[str, Any]) -> Document:
        return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}, "ok": 1.0}

    def _list_databases(self, db: str, cmd: Mapping[str, Any]) -> Document:
        databases: list[Document] = [
            {"name": name, "sizeOnDisk": 0, "empty": False} for name in self._client.list_database_names()
        ]
        flt = cmd.get("filter")
        if flt:
            databases = [d for d in databases if _filter_applies(flt, d)]
        if cmd.get("nameOnly"):
            return {"databases": [{"name": d["name"]} for d in databases], "ok": 1.0}
        return {"databases": databases, "totalSize": 0, "ok": 1.0}

    def _transaction_command(self, db: str, cmd: Mapping[str, Any]) -> Document:
        raise CommandError(20, _TRANSACTION_ERROR)

    # ------------------------------------------------------------------ writes

    def _write_error(self, index: int, exc: Exception, coll: Any, ns: str, doc: Any) -> Document:
        if isinstance(exc, DuplicateKeyError):
            error: Document = {"index": index, **self._duplicate_key_fields(coll, ns, doc)}
            return error
        reply = self._exception_document(exc)
        error = {"index": index, "code": reply["code"], "errmsg": reply["errmsg"]}
        return error

    def _duplicate_key_fields(self, coll: Any, ns: str, doc: Any) -> Document:
        conflict = self._conflicting_index(coll, doc) if isinstance(doc, Mapping) else None
        if conflict is None:
            return {"code": 11000, "errmsg": f"E11000 duplicate key error collection: {ns}"}
        name, pattern, value = conflict
        return {
            "code": 11000,
            "errmsg": (
                f"E11000 duplicate key error collection: {ns} index: {name} "
                f"dup key: {_format_key_value(value)}"
            ),
            "keyPattern": pattern,
            "keyValue": value,
        }

    @staticmethod
    def _conflicting_index(coll: Any, doc: Mapping[str, Any]) -> tuple[str, Document, Document] | None:
        """Which unique index a (rejected) document collides with, if any."""
        if "_id" in doc and coll.find_one({"_id": doc["_id"]}, {"_id": 1}) is not None:
            return "_id_", {"_id": 1}, {"_id": doc["_id"]}
        for name, info in coll.index_information().items():
            if not info.get("unique"):
                continue
            values: Document = {}
            for key, _direction in info["key"]:
                try:
                    values[key] = _get_value_by_dot(doc, key)
                except KeyError:
                    values[key] = None
            if info.get("sparse") and all(v is None for v in values.values()):
                continue
            flt: Document = dict(values)
            if info.get("partialFilterExpression") is not None:
                flt = {"$and": [info["partialFilterExpression"], flt]}
            if coll.find_one(flt, {"_id": 1}) is not None:
                return name, dict(info["key"]), values
        return None

    def _insert(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["insert"]
        coll = self._collection(db, name)
        ordered = cmd.get("ordered", True)
        inserted = 0
        errors: list[Document] = []
        for index, doc in enumerate(cmd.get("documents") or []):
            try:
                coll.insert_one(doc)
                inserted += 1
            except Exception as exc:
                errors.append(self._write_error(index, exc, coll, f"{db}.{name}", doc))
                if ordered:
                    break
        reply: Document = {"n": inserted, "ok": 1.0}
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _update(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["update"]
        coll = self._collection(db, name)
        ordered = cmd.get("ordered", True)
        matched = modified = 0
        upserted: list[Document] = []
        errors: list[Document] = []
        _reject_options(cmd, "let")
        for index, spec in enumerate(cmd.get("updates") or []):
            try:
                _reject_options(spec, "collation", "arrayFilters")
                query, update = spec.get("q") or {}, spec["u"]
                multi, upsert = bool(spec.get("multi")), bool(spec.get("upsert"))
                if _is_replacement(update):
                    if multi:
                        raise CommandError(9, "multi update is not supported for replacement-style update")
                    result = coll.replace_one(query, update, upsert=upsert)
                elif multi:
                    result = coll.update_many(query, update, upsert=upsert)
                else:
                    result = coll.update_one(query, update, upsert=upsert)
                raw = result.raw_result
                matched += raw["n"]
                modified += raw["nModified"]
                if raw.get("upserted") is not None:
                    upserted.append({"index": index, "_id": raw["upserted"]})
            except Exception as exc:
                errors.append(self._write_error(index, exc, coll, f"{db}.{name}", None))
                if ordered:
                    break
        reply: Document = {"n": matched, "nModified": modified, "ok": 1.0}
        if upserted:
            reply["upserted"] = upserted
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _delete(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["delete"]
        coll = self._collection(db, name)
        ordered = cmd.get("ordered", True)
        deleted = 0
        errors: list[Document] = []
        _reject_options(cmd, "let")
        for index, spec in enumerate(cmd.get("deletes") or []):
            try:
                _reject_options(spec, "collation")
                query = spec.get("q") or {}
                if spec.get("limit", 0) == 1:
                    deleted += coll.delete_one(query).deleted_count
                else:
                    deleted += coll.delete_many(query).deleted_count
            except Exception as exc:
                errors.append(self._write_error(index, exc, coll, f"{db}.{name}", None))
                if ordered:
                    break
        reply: Document = {"n": deleted, "ok": 1.0}
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _find_and_modify(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = next(iter(cmd.values()))
        coll = self._collection(db, name)
        _reject_options(cmd, "collation", "arrayFilters", "let")
        query = cmd.get("query") or {}
        sort = _sort_list(cmd.get("sort"))
        remove = bool(cmd.get("remove"))
        update = cmd.get("update")
        new = bool(cmd.get("new"))
        upsert = bool(cmd.get("upsert"))
        fields = cmd.get("fields") or None
        if remove and update is not None:
            raise CommandError(9, "Cannot specify both an update and remove=true")
        if not remove and update is None:
            raise CommandError(9, "Either an update or remove=true must be specified")
        if remove and (new or upsert):
            raise CommandError(9, "Cannot specify both new=true/upsert=true and remove=true")

        found = next(iter(coll.find(query, sort=sort, limit=1)), None)
        if remove:
            if found is None:
                return {"lastErrorObject": {"n": 0}, "value": None, "ok": 1.0}
            before = coll.find_one({"_id": found["_id"]}, fields)
            coll.delete_one({"_id": found["_id"]})
            return {"lastErrorObject": {"n": 1}, "value": before, "ok": 1.0}

        replacement = _is_replacement(update)
        if found is not None:
            # Target exactly the found document while keeping the query's fields, so that
            # positional ($) updates still resolve against the query.
            target = dict(query)
            target["_id"] = found["_id"]
            before = None if new else coll.find_one({"_id": found["_id"]}, fields)
            if replacement:
                coll.replace_one(target, update)
            else:
                coll.update_one(target, update)
            value = coll.find_one({"_id": found["_id"]}, fields) if new else before
            return {"lastErrorObject": {"n": 1, "updatedExisting": True}, "value": value, "ok": 1.0}
        if not upsert:
            return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None, "ok": 1.0}
        try:
            if replacement:
                raw = coll.replace_one(query, update, upsert=True).raw_result
            else:
                raw = coll.update_one(query, update, upsert=True).raw_result
        except DuplicateKeyError as exc:
            raise CommandError(**self._duplicate_key_fields(coll, f"{db}.{name}", None)) from exc
        upserted_id = raw["upserted"]
        value = coll.find_one({"_id": upserted_id}, fields) if new else None
        return {
            "lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": upserted_id},
            "value": value,
            "ok": 1.0,
        }

    # ------------------------------------------------------------------ reads

    def _find(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["find"]
        coll = self._collection(db, name)
        _reject_options(
            cmd, "collation", "let", "tailable", "awaitData", "min", "max", "returnKey", "showRecordId"
        )
        limit = cmd.get("limit") or 0
        single_batch = bool(cmd.get("singleBatch"))
        if limit < 0:
            limit, single_batch = -limit, True
        cursor = coll.find(
            cmd.get("filter") or {},
            projection=cmd.get("projection") or None,
            skip=cmd.get("skip") or 0,
            limit=limit,
            sort=_sort_list(cmd.get("sort")),
        )
        docs = list(cursor)
        return self._open_cursor(f"{db}.{name}", docs, cmd.get("batchSize"), single_batch)

    def _get_more(self, db: str, cmd: Mapping[str, Any]) -> Document:
        cursor_id = int(cmd["getMore"])
        ns = f"{db}.{cmd.get('collection')}"
        cursor = self._cursors.get(cursor_id)
        if cursor is None or cursor.ns != ns:
            raise CommandError(43, f"cursor id {cursor_id} not found")
        batch_size = cmd.get("batchSize")
        count = batch_size if isinstance(batch_size, int) and batch_size > 0 else None
        batch, cursor.pos = _next_batch(cursor.docs, cursor.pos, count)
        cursor.last_used = time.monotonic()
        if cursor.pos >= len(cursor.docs):
            del self._cursors[cursor_id]
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": ns}, "ok": 1.0}

    def _kill_cursors(self, db: str, cmd: Mapping[str, Any]) -> Document:
        ns = f"{db}.{cmd['killCursors']}"
        killed: list[Int64] = []
        not_found: list[Int64] = []
        for raw_id in cmd.get("cursors") or []:
            cursor_id = int(raw_id)
            cursor = self._cursors.get(cursor_id)
            if cursor is not None and cursor.ns == ns:
                del self._cursors[cursor_id]
                killed.append(Int64(cursor_id))
            else:
                not_found.append(Int64(cursor_id))
        return {
            "cursorsKilled": killed,
            "cursorsNotFound": not_found,
            "cursorsAlive": [],
            "cursorsUnknown": [],
            "ok": 1.0,
        }

    def _aggregate(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["aggregate"]
        if not isinstance(name, str):
            raise _unsupported("database-level aggregate (aggregate: 1)")
        _reject_options(cmd, "collation", "let", "explain")
        pipeline = cmd.get("pipeline") or []
        for stage in pipeline:
            stage_name = next(iter(stage), "")
            if stage_name == "$changeStream":
                raise CommandError(40573, "The $changeStream stage is only supported on replica sets")
            if stage_name in ("$out", "$merge"):
                raise _unsupported(f"the {stage_name} aggregation stage")
        coll = self._collection(db, name)
        docs = list(coll.aggregate(pipeline))
        cursor_opts = cmd.get("cursor") or {}
        return self._open_cursor(f"{db}.{name}", docs, cursor_opts.get("batchSize"))

    def _count(self, db: str, cmd: Mapping[str, Any]) -> Document:
        coll = self._collection(db, cmd["count"])
        _reject_options(cmd, "collation")
        kwargs: Document = {}
        if cmd.get("skip"):
            kwargs["skip"] = int(cmd["skip"])
        if cmd.get("limit"):
            kwargs["limit"] = abs(int(cmd["limit"]))
        return {"n": coll.count_documents(cmd.get("query") or {}, **kwargs), "ok": 1.0}

    def _distinct(self, db: str, cmd: Mapping[str, Any]) -> Document:
        coll = self._collection(db, cmd["distinct"])
        _reject_options(cmd, "collation")
        key = cmd.get("key")
        if not isinstance(key, str):
            raise CommandError(14, "distinct 'key' must be a string")
        return {"values": coll.distinct(key, cmd.get("query") or None), "ok": 1.0}

    # ------------------------------------------------------------------ collections & indexes

    _GENERIC_FIELDS = frozenset(
        {
            "$db",
            "lsid",
            "txnNumber",
            "$clusterTime",
            "$readPreference",
            "readConcern",
            "writeConcern",
            "apiVersion",
            "apiStrict",
            "apiDeprecationErrors",
            "comment",
            "maxTimeMS",
        }
    )

    def _create(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["create"]
        options = [key for key in list(cmd)[1:] if key not in self._GENERIC_FIELDS]
        if options:
            raise _unsupported(f"create with options {options}")
        if self._collection_exists(db, name):
            raise CommandError(48, f"Collection {db}.{name} already exists.")
        self._collection(db, name)  # validates the name
        self._client[db].create_collection(name)
        return {"ok": 1.0}

    def _drop(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["drop"]
        coll = self._collection(db, name)
        if not self._collection_exists(db, name):
            return {"ok": 1.0}  # MongoDB >= 7.0 no longer fails on a missing collection
        indexes = len(coll.index_information())
        self._client[db].drop_collection(name)
        return {"ns": f"{db}.{name}", "nIndexesWas": indexes, "ok": 1.0}

    def _drop_database(self, db: str, cmd: Mapping[str, Any]) -> Document:
        self._client.drop_database(db)
        return {"ok": 1.0}

    def _list_collections(self, db: str, cmd: Mapping[str, Any]) -> Document:
        infos: list[Document] = [
            {
                "name": name,
                "type": "collection",
                "options": {},
                "info": {"readOnly": False},
                "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            }
            for name in sorted(self._client[db].list_collection_names())
        ]
        flt = cmd.get("filter")
        if flt:
            infos = [info for info in infos if _filter_applies(flt, info)]
        if cmd.get("nameOnly"):
            infos = [{"name": info["name"], "type": info["type"]} for info in infos]
        cursor_opts = cmd.get("cursor") or {}
        return self._open_cursor(f"{db}.$cmd.listCollections", infos, cursor_opts.get("batchSize"))

    _INDEX_IGNORED_OPTIONS = frozenset(
        {
            "key",
            "name",
            "unique",
            "sparse",
            "expireAfterSeconds",
            "partialFilterExpression",
            "v",
            "background",
            "hidden",
            "weights",
            "default_language",
            "language_override",
            "textIndexVersion",
            "2dsphereIndexVersion",
            "bits",
            "min",
            "max",
            "ns",
        }
    )

    def _create_indexes(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["createIndexes"]
        coll = self._collection(db, name)
        existed = self._collection_exists(db, name)
        before = len(coll.index_information()) if existed else 1
        specs = cmd.get("indexes") or []
        if not specs:
            raise CommandError(2, "Must specify at least one index to create")
        for spec in specs:
            unknown = [key for key in spec if key not in self._INDEX_IGNORED_OPTIONS]
            if unknown:
                raise _unsupported(f"index options {unknown}")
            key = spec.get("key")
            if not isinstance(key, Mapping) or not key:
                raise CommandError(2, "index 'key' must be a non-empty document")
            key_list = list(key.items())
            index_name = spec.get("name") or _gen_index_name(key_list)
            if index_name == "_id_" or key_list == [("_id", 1)]:
                continue
            kwargs: Document = {
                "name": index_name,
                "unique": bool(spec.get("unique")),
                "sparse": bool(spec.get("sparse")),
            }
            for option in ("expireAfterSeconds", "partialFilterExpression"):
                if spec.get(option) is not None:
                    kwargs[option] = spec[option]
            try:
                coll.create_index(key_list, **kwargs)
            except DuplicateKeyError as exc:
                raise CommandError(
                    11000,
                    f"Index build failed: E11000 duplicate key error collection: {db}.{name} "
                    f"index: {index_name}",
                ) from exc
            except OperationFailure as exc:
                raise CommandError(85, str(exc)) from exc
        if not self._collection_exists(db, name):
            self._client[db].create_collection(name)
        after = len(coll.index_information())
        reply: Document = {
            "createdCollectionAutomatically": not existed,
            "numIndexesBefore": before,
            "numIndexesAfter": after,
            "ok": 1.0,
        }
        if after == before:
            reply["note"] = "all indexes already exist"
        return reply

    def _list_indexes(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = cmd["listIndexes"]
        coll = self._collection(db, name)
        if not self._collection_exists(db, name):
            raise CommandError(26, f"ns does not exist: {db}.{name}")
        docs = [dict(index) for index in coll.list_indexes()]
        cursor_opts = cmd.get("cursor") or {}
        return self._open_cursor(f"{db}.{name}", docs, cursor_opts.get("batchSize"))

    def _drop_indexes(self, db: str, cmd: Mapping[str, Any]) -> Document:
        name = next(iter(cmd.values()))
        coll = self._collection(db, name)
        if not self._collection_exists(db, name):
            raise CommandError(26, f"ns not found {db}.{name}")
        info = coll.index_information()
        target = cmd.get("index")
        if target == "*":
            names = [index_name for index_name in info if index_name != "_id_"]
        elif isinstance(target, str):
            names = [target]
        elif isinstance(target, list):
            names = [str(n) for n in target]
        elif isinstance(target, Mapping):
            wanted = list(target.items())
            names = [n for n, spec in info.items() if list(spec["key"]) == wanted]
            if not names:
                raise CommandError(27, f"can't find index with key: {dict(target)}")
        else:
            raise CommandError(2, "dropIndexes 'index' must be a string, list or document")
        for index_name in names:
            if index_name == "_id_":
                raise CommandError(72, "cannot drop _id index")
            if index_name not in info:
                raise CommandError(27, f"index not found with name [{index_name}]")
        for index_name in names:
            coll.drop_index(index_name)
        return {"nIndexesWas": len(info), "ok": 1.0}

    def _rename_collection(self, db: str, cmd: Mapping[str, Any]) -> Document:
        source, target = str(cmd["renameCollection"]), str(cmd.get("to"))
        source_db, _, source_name = source.partition(".")
        target_db, _, target_name = target.partition(".")
        if source_db != target_db:
            raise _unsupported("renameCollection across databases")
        database = self._client[source_db]
        if not self._collection_exists(source_db, source_name):
            raise CommandError(26, f"Source collection {source} does not exist")
        if self._collection_exists(source_db, target_name) and not cmd.get("dropTarget"):
            raise CommandError(48, f"Target collection {target} already exists")
        database.rename_collection(source_name, target_name, dropTarget=bool(cmd.get("dropTarget")))
        return {"ok": 1.0}


_HELLO_COMMANDS = frozenset({"hello", "isMaster", "ismaster"})


class _QuietOpMsgReply(OpMsgReply):  # type: ignore[misc]
    """mockupdb formats ``repr(reply)`` (JSON of every document) even when not verbose; skip that."""

    def __repr__(self) -> str:
        return "OpMsgReply(...)"


class _QuietOpReply(OpReply):  # type: ignore[misc]
    def __repr__(self) -> str:
        return "OpReply(...)"


class MongoWireStandIn:
    """A MongoDB wire-protocol server for tests, backed by an in-memory mongomock engine.

    ``start()`` binds 127.0.0.1 (on a free port unless ``port`` is given) and serves from background
    daemon threads; ``stop()`` closes the listening socket and every client connection. Also a
    context manager. ``reset()`` drops all data between tests when one stand-in is shared.
    """

    def __init__(
        self, port: int | None = None, *, cursor_timeout: float = 600.0, verbose: bool = False
    ) -> None:
        self._requested_port = port
        self._verbose = verbose
        self._engine = _Engine(cursor_timeout)
        self._server: Any = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("MongoWireStandIn already started")
        server = MockupDB(port=self._requested_port, verbose=self._verbose, request_timeout=int(1e6))
        server.autoresponds(self._handle)
        self._port = int(server.run())
        self._server = server

    def stop(self) -> None:
        """Close the listening socket and every client connection; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            # mockupdb's accept loop polls with a 1 s select(); flag it stopped and poke it with a
            # connection so that stop() returns in milliseconds instead of up to a second.
            if hasattr(server, "_stopped"):
                server._stopped = True
            with contextlib.suppress(OSError):
                socket.create_connection(self.address, timeout=1.0).close()
            server.stop()
        self._engine.close_cursors()

    def __enter__(self) -> MongoWireStandIn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Drop every database and cursor (for a stand-in shared between tests)."""
        self._engine.reset()

    # ------------------------------------------------------------------ introspection

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("MongoWireStandIn not started")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def open_cursor_count(self) -> int:
        return self._engine.open_cursor_count

    # ------------------------------------------------------------------ request handling

    def _handle(self, request: Any) -> bool:
        """mockupdb autoresponder for every request. Always answers (or deliberately stays silent)."""
        more_to_come = False
        reply: Document
        try:
            if isinstance(request, OpMsg):
                cmd = request.doc
                db = cmd.get("$db") or "admin"
                more_to_come = bool((request.flags or 0) & OP_MSG_FLAGS["moreToCome"])
            elif isinstance(request, Command):  # OP_QUERY on "db.$cmd": the legacy handshake
                cmd = request.doc
                if "$query" in cmd:
                    cmd = cmd["$query"]
                db = request.namespace or "admin"
            elif isinstance(request, OpQuery):
                request.fail("legacy OP_QUERY is not supported by the stand-in; use OP_MSG")
                return True
            elif isinstance(request, OpGetMore):
                request.replies(flags=REPLY_FLAGS["CursorNotFound"])
                return True
            else:  # legacy OP_INSERT/OP_UPDATE/OP_DELETE/OP_KILL_CURSORS never get replies
                return True
            name = next(iter(cmd), None)
            connection_id = int(request.client_port) if name in _HELLO_COMMANDS else 0
            reply = self._engine.run(db, cmd, connection_id)
        except Exception as exc:
            reply = _error_document(1, f"stand-in failed to handle the request: {exc!r}")
        if more_to_come:
            return True
        try:
            if self._verbose:
                request.replies(reply)
            elif isinstance(request, OpMsg):
                request.replies(_QuietOpMsgReply(reply))
            else:
                request.replies(_QuietOpReply(reply))
        except OSError:
            pass  # the client went away; mockupdb notices on its next read
        except Exception as exc:  # e.g. the reply could not be encoded
            with contextlib.suppress(Exception):
                request.replies(_error_document(1, f"stand-in failed to encode the reply: {exc!r}"))
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print ``READY <uri>`` once accepting connections."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.mongo_wire",
        description="MongoDB wire-protocol stand-in (mockupdb + mongomock) for tests.",
    )
    parser.add_argument("--port", type=int, default=None, help="port to bind (default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log every request and reply")
    args = parser.parse_args(argv)

    stop_requested = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    standin = MongoWireStandIn(port=args.port, verbose=args.verbose)
    standin.start()
    try:
        print(f"READY {standin.uri}", flush=True)
        stop_requested.wait()
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
