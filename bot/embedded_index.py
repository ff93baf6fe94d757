"""Equality look-ups for the embedded (mongomock) database.

mongomock answers every query by testing every document of the collection, and checks
each unique index the same way on every insert, so without help the embedded store
slows down linearly as it fills (measured: 200 conversations, p50 reply 700 ms; 10,000
conversation starts 427 s, docs/performance.md).

This gives it what an index gives MongoDB for the queries leadbot makes on hot paths: a
document by `_id` (every collection), and documents by the fields of `INDEXED_FIELDS`,
alone, under `$in`/`$eq`, or in the clauses of an `$or` or `$and` (the merge look-up,
`Store._lead_sharing_contact`, asks for `$or: [{slots.email}, {slots.phone}]`). The look-up
only narrows the candidates: mongomock's own filter still tests each one, and they are
handed out in mongomock's natural order, so a query returns exactly what a full scan would.

Indexed fields may change. mongomock replaces and deletes documents through the
collection store (`__setitem__`, `__delitem__`), which re-indexes them here; updates change
the stored document in place, past the store, so `_apply_update_document` and
`_apply_update_pipeline` are wrapped to re-read the document's values right after (and
before mongomock checks the unique indexes against them). Each document's index entries
are remembered, because by the time it is re-indexed its old values are gone.

A store also tells its `watchers` just before a stored document is changed in place,
replaced or deleted, and before the collection is dropped: the snapshot
(bot/embedded_snapshot.py) copies a document then, if it has not yet.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from bson import ObjectId
from mongomock.collection import Collection
from mongomock.filtering import filter_applies
from mongomock.helpers import hashdict
from mongomock.store import CollectionStore, DatabaseStore

# collection → fields looked up by equality on hot paths (any other collection: `_id` only)
INDEXED_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "messages": ("conversation_id", "dedupe_key"),
    # contact_key: conversation_for_contact and the unique contact index, on every SMS
    "conversations": ("visitor_token_hash", "contact_key"),
    # the unique contact indexes and the look-up for a lead sharing an email or phone
    "leads": ("slots.email", "slots.phone"),
}

# Values whose equality in a filter is plain equality, by exact type: a subclass may hash or
# compare otherwise (bson's Binary), None also matches a missing field, a list or a dict has
# array and sub-document semantics. Anything else is looked up by a full scan.
_KEY_TYPES: Final = frozenset({str, bytes, int, bool, float, ObjectId, datetime})
# An entry for a document that an equality could match other than by its plain value (a
# value that is not a plain key, an array of sub-documents along the path): a candidate for
# every look-up on that field.
_LOOSE: Final = object()
_ABSENT: Final = object()


def _is_key(value: Any) -> bool:
    return type(value) in _KEY_TYPES and value == value  # NaN equals nothing, not even itself


def _values(doc: Mapping[str, Any], path: str) -> list[Any]:
    """What a document is indexed under for a (dotted) field: its plain values, `_LOOSE`
    where an equality could match it some other way, nothing when it has no such field."""
    current: Any = doc
    for part in path.split("."):
        if isinstance(current, list):
            return [_LOOSE]  # an array along the path: MongoDB looks into each element
        if not isinstance(current, Mapping) or part not in current:
            return []  # a missing field, or a scalar with no fields: no equality matches
        current = current[part]
    items = current if isinstance(current, list) else [current]
    return [item if _is_key(item) else _LOOSE for item in items]


def _wanted(condition: Any) -> list[Any] | None:
    """The values a condition on one field matches by plain equality, or None (not that kind)."""
    if _is_key(condition):
        return [condition]
    if isinstance(condition, dict) and len(condition) == 1:
        [(operator, operand)] = condition.items()
        if operator == "$eq" and _is_key(operand):
            return [operand]
        if operator == "$in" and isinstance(operand, list | tuple) and all(map(_is_key, operand)):
            return list(operand)
    return None


class ChangeWatcher(Protocol):
    def before_change(self, key: Any) -> None:
        """The document stored under `key` is about to be changed in place, replaced or deleted."""

    def before_drop(self) -> None:
        """Every document of the collection is about to go."""


class IndexedCollectionStore(CollectionStore):
    """A mongomock collection store that also maps field values to document keys."""

    fields: tuple[str, ...]
    watchers: list[ChangeWatcher]
    _by_value: dict[str, dict[Hashable, dict[Any, None]]]
    _loose: dict[str, dict[Any, None]]
    _entries: dict[Any, tuple[tuple[str, Any], ...]]  # key → what it is indexed under
    _order: dict[Any, int]  # key → position in mongomock's natural (insertion) order
    _next: int  # the next position: only grows, so a key placed later has a higher one

    def enable(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.watchers = []
        self._next = 0
        self._reset()
        for key, doc in self._documents.items():
            self._place(key)
            self._index(key, doc)

    def _reset(self) -> None:
        self._by_value = {f: {} for f in self.fields}
        self._loose = {f: {} for f in self.fields}
        self._entries = {}
        self._order = {}

    def _place(self, key: Any) -> None:
        self._order[key] = self._next
        self._next += 1

    def _entries_of(self, doc: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        return tuple(dict.fromkeys((f, v) for f in self.fields for v in _values(doc, f)))

    def _index(self, key: Any, doc: Mapping[str, Any]) -> None:
        entries = self._entries_of(doc) if self.fields else ()
        if not entries:
            return
        self._entries[key] = entries
        for field, value in entries:
            if value is _LOOSE:
                self._loose[field][key] = None
            else:
                self._by_value[field].setdefault(value, {})[key] = None

    def _unindex(self, key: Any) -> None:
        for field, value in self._entries.pop(key, ()):
            if value is _LOOSE:
                self._loose[field].pop(key, None)
                continue
            bucket = self._by_value[field].get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self._by_value[field][value]

    def position(self, key: Any) -> int | None:
        """Where the document stored under `key` is in the natural order (None: not stored)."""
        return self._order.get(key)

    def __setitem__(self, key: Any, val: Any) -> None:
        # An OrderedDict keeps a replaced key where it was and puts a new one last: so do we.
        new = key not in self._documents
        if not new:
            self._tell_before_change(key)
        super().__setitem__(key, val)
        if new:
            self._place(key)
        self._unindex(key)
        self._index(key, val)

    def __delitem__(self, key: Any) -> None:
        if key in self._documents:
            self._tell_before_change(key)
        super().__delitem__(key)
        self._order.pop(key, None)
        self._unindex(key)

    def drop(self) -> None:
        for watcher in self.watchers:
            watcher.before_drop()
        super().drop()
        self._reset()

    def key_of(self, doc: Mapping[str, Any]) -> Any:
        """The key `doc` is stored under, or `_ABSENT` when this very object is not stored
        (an upsert's new document). mongomock keys a document by its `_id`, which an update
        cannot change (it rolls such an update back)."""
        doc_id = doc.get("_id")
        try:
            key = hashdict(doc_id) if isinstance(doc_id, dict) else doc_id
            return key if self._documents.get(key) is doc else _ABSENT
        except TypeError:  # an unhashable _id: mongomock could not have stored it
            return _ABSENT

    def _tell_before_change(self, key: Any) -> None:
        for watcher in self.watchers:
            watcher.before_change(key)

    def changing_in_place(self, key: Any) -> None:
        self._tell_before_change(key)

    def changed_in_place(self, key: Any) -> None:
        if not self.fields:
            return
        doc = self._documents.get(key)
        if doc is None or self._entries.get(key, ()) != self._entries_of(doc):
            self._unindex(key)
            if doc is not None:
                self._index(key, doc)

    def candidates(self, query: Any) -> list[dict[str, Any]] | None:
        """A superset of the documents `query` matches, in natural order; None to scan them all."""
        if not isinstance(query, dict):
            return None
        self._remove_expired_documents()
        keys = self._keys_for(query)
        if keys is None:
            return None
        docs, order = self._documents, self._order
        return [docs[k] for k in sorted((k for k in keys if k in docs), key=order.__getitem__)]

    def _keys_for(self, query: Mapping[str, Any]) -> Iterable[Any] | None:
        ids = _wanted(query.get("_id", _ABSENT))
        if ids is not None:
            return dict.fromkeys(ids)
        for field in self.fields:
            values = _wanted(query.get(field, _ABSENT))
            if values is not None:
                keys = dict.fromkeys(self._loose[field])
                for value in values:
                    keys.update(self._by_value[field].get(value, {}))
                return keys
        every = query.get("$and")
        if isinstance(every, list):  # any one clause's candidates hold all of the matches
            for clause in every:
                found = self._keys_for(clause) if isinstance(clause, dict) else None
                if found is not None:
                    return found
        either = query.get("$or")
        if isinstance(either, list) and either:  # every clause must narrow: the union
            union: dict[Any, None] = {}
            for clause in either:
                found = self._keys_for(clause) if isinstance(clause, dict) else None
                if found is None:
                    return None
                union.update(dict.fromkeys(found))
            return union
        return None


class IndexedDatabaseStore(DatabaseStore):
    """A mongomock database whose every collection, including ones made later, is indexed."""

    def __getitem__(self, name: str) -> Any:
        store = super().__getitem__(name)
        if not isinstance(store, IndexedCollectionStore):
            index_collection(store, INDEXED_FIELDS.get(name, ()))
        return store


def index_collection(store: Any, fields: tuple[str, ...]) -> None:
    """Turn one mongomock collection store into an indexed one (its documents are kept)."""
    store.__class__ = IndexedCollectionStore
    store.enable(fields)


# -- the hooks in mongomock's Collection ------------------------------------------------------


def _original(name: str) -> Any:
    method = getattr(Collection, name)
    return getattr(method, "__wrapped__", method)  # this module imported again: not twice


_scan_all = _original("_iter_documents")


def _iter_documents(self: Collection, query: Any) -> Any:
    # mongomock's own, with candidates from the index when the query allows
    store = self._store
    found = store.candidates(query) if isinstance(store, IndexedCollectionStore) else None
    if found is None:
        return _scan_all(self, query)
    if not found:
        filter_applies(query, {})  # mongomock refuses a malformed filter even when nothing matches
    return (doc for doc in found if filter_applies(query, doc))


_iter_documents.__wrapped__ = _scan_all  # type: ignore[attr-defined]


def _in_place(apply: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap one of mongomock's in-place updaters: watchers hear before, the index after."""

    def applying(self: Collection, document: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        store = self._store
        key = store.key_of(document) if isinstance(store, IndexedCollectionStore) else _ABSENT
        if key is _ABSENT:
            return apply(self, document, *args, **kwargs)
        store.changing_in_place(key)
        try:
            return apply(self, document, *args, **kwargs)
        finally:
            store.changed_in_place(key)  # before mongomock checks unique indexes with the new values

    applying.__wrapped__ = apply  # type: ignore[attr-defined]
    return applying


_HOOKS: Final[dict[str, Any]] = {
    "_iter_documents": _iter_documents,
    "_apply_update_document": _in_place(_original("_apply_update_document")),
    "_apply_update_pipeline": _in_place(_original("_apply_update_pipeline")),
}


def install_hooks() -> None:
    """Class-level, once: a collection whose store is not indexed goes through unchanged."""
    for name, hook in _HOOKS.items():
        if getattr(Collection, name) is not hook:
            setattr(Collection, name, hook)


def accelerate(database: Any) -> None:
    """Index every collection of a mongomock database, and the ones it will have."""
    install_hooks()
    db_store = database._store
    db_store.__class__ = IndexedDatabaseStore
    for name in list(db_store._collections):
        db_store[name]  # indexes it
