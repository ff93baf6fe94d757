"""Equality look-ups for the embedded (mongomock) database.

mongomock answers every query by testing every document of the collection, and checks
each unique index the same way on every insert, so without help the embedded store
slows down linearly as it fills (measured: 200 conversations, p50 reply 700 ms).

This gives it what an index gives MongoDB for the queries leadbot makes on every turn:
a document by `_id`, and documents by a field that never changes after insert (a
message's conversation and dedupe key, a conversation's token hash). The look-up only
narrows the candidates; mongomock's own filter still tests each one, so a query returns
exactly what a full scan would.

Only fields that are never updated after insert may be listed: mongomock updates stored
documents in place, past this index. `_id` is immutable in MongoDB itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

from bson import ObjectId
from mongomock.collection import Collection
from mongomock.filtering import filter_applies
from mongomock.store import CollectionStore

# collection → top-level fields leadbot never updates after insert
IMMUTABLE_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "messages": ("conversation_id", "dedupe_key"),
    "conversations": ("visitor_token_hash",),
}

_MISSING: Final = object()
# Values whose equality in a filter means plain equality (None also matches a missing
# field, a list or a dict has array and sub-document semantics: those scan).
_KEY_TYPES: Final = (str, bytes, int, float, ObjectId, datetime)


def _is_key(value: Any) -> bool:
    return isinstance(value, _KEY_TYPES)


class IndexedCollectionStore(CollectionStore):
    """A mongomock collection store that also maps field values to document ids."""

    fields: tuple[str, ...]
    _by_value: dict[str, dict[Hashable, dict[Any, None]]]
    _loose: dict[str, dict[Any, None]]  # documents whose value is not a plain key: always candidates

    def enable(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self._reset()
        for key, doc in self._documents.items():
            self._index(key, doc)

    def _reset(self) -> None:
        self._by_value = {f: {} for f in self.fields}
        self._loose = {f: {} for f in self.fields}

    def _index(self, key: Any, doc: Mapping[str, Any]) -> None:
        for field in self.fields:
            value = doc.get(field, _MISSING)
            if value is _MISSING:
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                if _is_key(item):
                    self._by_value[field].setdefault(item, {})[key] = None
                else:
                    self._loose[field][key] = None

    def _unindex(self, key: Any, doc: Mapping[str, Any]) -> None:
        for field in self.fields:
            value = doc.get(field, _MISSING)
            values = value if isinstance(value, list) else [value]
            for item in values:
                if _is_key(item):
                    bucket = self._by_value[field].get(item)
                    if bucket is not None:
                        bucket.pop(key, None)
                        if not bucket:
                            del self._by_value[field][item]
            self._loose[field].pop(key, None)

    def __setitem__(self, key: Any, val: Any) -> None:
        old = self._documents.get(key)
        super().__setitem__(key, val)
        if old is not None:
            self._unindex(key, old)
        self._index(key, val)

    def __delitem__(self, key: Any) -> None:
        old = self._documents.get(key)
        super().__delitem__(key)
        if old is not None:
            self._unindex(key, old)

    def drop(self) -> None:
        super().drop()
        self._reset()

    def candidates(self, query: Any) -> list[dict[str, Any]] | None:
        """A superset of the documents `query` matches, or None to scan them all."""
        if not isinstance(query, dict):
            return None
        self._remove_expired_documents()
        docs = self._documents
        by_id = query.get("_id", _MISSING)
        if _is_key(by_id):
            doc = docs.get(by_id)
            return [] if doc is None else [doc]
        for field in self.fields:
            value = query.get(field, _MISSING)
            if _is_key(value):
                ids = [*self._by_value[field].get(value, ()), *self._loose[field]]
                return [docs[i] for i in ids if i in docs]
        return None


def _iter_documents(self: Collection, query: Any) -> Iterator[dict[str, Any]]:
    candidates = getattr(self._store, "candidates", None)
    found = candidates(query) if candidates is not None else None
    if found is None:
        return _scan_all(self, query)  # type: ignore[no-any-return]  # mongomock is untyped
    return (doc for doc in found if filter_applies(query, doc))


_scan_all = Collection._iter_documents


def accelerate(database: Any) -> None:
    """Index the immutable fields of a mongomock database's leadbot collections."""
    if Collection._iter_documents is not _iter_documents:
        # One class-level hook; collections without an indexed store still scan.
        Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    for name, fields in IMMUTABLE_FIELDS.items():
        store = database[name]._store
        store.__class__ = IndexedCollectionStore
        store.enable(fields)
