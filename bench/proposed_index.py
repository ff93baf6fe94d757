"""An experiment, not the fix: `leadbot serve` with a proposed change to bot/embedded_index.py.

The benches found the embedded store scanning whole collections on every widget conversation
start and every inbound SMS (docs/performance.md, "Hot paths"). This runs the unchanged CLI with
that change applied at run time, so its effect can be measured before anyone makes it:

- `leads` gets look-ups by `_id` (get_lead, replace_one, update_one scanned every lead);
- `conversations` also by `contact_key` (set once, at insert; conversation_for_contact and the
  unique contact index's check scanned every conversation);
- `leads` also by `slots.email` and `slots.phone`, which change: each document's indexed values
  are remembered and re-read after every update (mongomock updates documents in place), and an
  `$or` of indexed equalities (the merge look-up, `_lead_sharing_contact`) is answered from it.

Results are unchanged by construction: candidates are still tested by mongomock's own filter.
Used by `--proposed-index` in bench/sockets.py and bench/webhooks.py; delete it once
bot/embedded_index.py has the change.

    python bench/proposed_index.py serve --port 8080     # same arguments as `leadbot`
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mongomock.collection  # noqa: E402

from bot import embedded_index  # noqa: E402
from bot.embedded_index import _MISSING, IndexedCollectionStore, _is_key  # noqa: E402

MORE_FIELDS = {
    "conversations": ("contact_key",),
    "leads": ("slots.email", "slots.phone"),  # the unique contact indexes (bot/store.py)
}


def _value(doc: Mapping[str, Any], path: str) -> Any:
    current: Any = doc
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


class RemindingStore(IndexedCollectionStore):
    """Remembers what each document was indexed under, so it can be re-indexed after an update."""

    _indexed: dict[Any, list[tuple[str, Hashable]]]

    def _reset(self) -> None:
        super()._reset()
        self._indexed = {}

    def _index(self, key: Any, doc: Mapping[str, Any]) -> None:
        entries = self._indexed.setdefault(key, [])
        for field in self.fields:
            value = _value(doc, field)
            if value is _MISSING:
                continue
            for item in value if isinstance(value, list) else [value]:
                if _is_key(item):
                    self._by_value[field].setdefault(item, {})[key] = None
                    entries.append((field, item))
                else:
                    self._loose[field][key] = None
                    entries.append((field, _MISSING))

    def _unindex(self, key: Any, doc: Mapping[str, Any] | None = None) -> None:
        for field, item in self._indexed.pop(key, []):
            if item is _MISSING:
                self._loose[field].pop(key, None)
                continue
            bucket = self._by_value[field].get(item)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self._by_value[field][item]

    def reindex(self, keys: list[Any]) -> None:
        for key in keys:
            self._unindex(key)
            doc = self._documents.get(key)
            if doc is not None:
                self._index(key, doc)

    def candidates(self, query: Any) -> list[dict[str, Any]] | None:
        clauses = query.get("$or") if isinstance(query, dict) else None
        if not isinstance(clauses, list):
            return super().candidates(query)
        found: dict[int, dict[str, Any]] = {}
        for clause in clauses:
            some = self.candidates(clause) if isinstance(clause, dict) and len(clause) == 1 else None
            if some is None:
                return super().candidates(query)
            found.update((id(doc), doc) for doc in some)
        return list(found.values())


_update: Any = mongomock.collection.Collection._update  # mongomock is untyped


def _update_and_reindex(self: Any, spec: Any, document: Any, *args: Any, **kwargs: Any) -> Any:
    store = self._store
    if not isinstance(store, RemindingStore):
        return _update(self, spec, document, *args, **kwargs)
    found = store.candidates(spec)
    keys = [doc["_id"] for doc in (store._documents.values() if found is None else found)]
    try:
        return _update(self, spec, document, *args, **kwargs)
    finally:
        store.reindex(keys)


def apply() -> None:
    fields = dict(embedded_index.IMMUTABLE_FIELDS)
    for name, more in MORE_FIELDS.items():
        fields[name] = (*fields.get(name, ()), *more)
    embedded_index.IMMUTABLE_FIELDS = fields  # type: ignore[misc]  # Final, patched on purpose
    embedded_index.IndexedCollectionStore = RemindingStore  # type: ignore[misc]
    mongomock.collection.Collection._update = _update_and_reindex  # type: ignore[method-assign]


if __name__ == "__main__":
    apply()
    from bot.cli import main

    raise SystemExit(main(sys.argv[1:]))
