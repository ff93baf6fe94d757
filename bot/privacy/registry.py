"""Who else keeps data about a lead: registries every such module adds itself to.

Erasing a lead (bot/privacy/erase.py) and exporting one (bot/privacy/export.py) cover the
store's conversations, messages, leads and attachments themselves. Any module that keeps lead
data elsewhere (its own collection, Redis, a remote system) registers here during `create_app`:

    app[keys.ERASERS].register("touchpoints", erase_touchpoints)
    app[keys.EXPORTERS].register("touchpoints", export_touchpoints)

Both callables take `(lead_id, conversation_ids)`, and both are called once for the lead (with
every conversation it has or had) and once for each lead that was merged into it (with no
conversation ids: those are the lead's now). An eraser must be idempotent and must not fail when
there is nothing to remove. An exporter returns JSON-safe data, the export document's `name`
section (a list: the lists of the lead and of its merged leads are joined).

The privacy package registers defaults for collections whose owners may not have (touchpoints,
webhook deliveries, jobs); a module registering the same name replaces the default, whatever
the order of registration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

Eraser = Callable[[str, list[str]], Awaitable[None]]
Exporter = Callable[[str, list[str]], Awaitable[Any]]

F = TypeVar("F")


class _Registry(Generic[F]):
    def __init__(self) -> None:
        self._owned: dict[str, F] = {}
        self._defaults: dict[str, F] = {}

    def register(self, name: str, handler: F) -> None:
        """Add the handler of the module that owns `name` (replacing a default of that name)."""
        if name in self._owned:
            raise ValueError(f"{name!r} is registered twice")
        self._owned[name] = handler

    def register_default(self, name: str, handler: F) -> None:
        """A fallback used only while no module registered `name` itself."""
        self._defaults[name] = handler

    def items(self) -> list[tuple[str, F]]:
        """Every handler in force, by name: the owners' in registration order, then defaults."""
        defaults = [(n, h) for n, h in self._defaults.items() if n not in self._owned]
        return [*self._owned.items(), *defaults]

    def names(self) -> list[str]:
        return [name for name, _ in self.items()]


class Erasers(_Registry[Eraser]):
    """`app[keys.ERASERS]`: what removes a lead's data beyond the store's core collections."""


class Exporters(_Registry[Exporter]):
    """`app[keys.EXPORTERS]`: what adds a section to a lead's export document."""
