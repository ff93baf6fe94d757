"""The flows a server runs, by id and version, over the versions kept in the store.

The flow files (`flows/*.yaml`) seed the store on first start; from then on admins publish
new versions (bot/flow_versions.py). A conversation pins `(id, version)` when it starts and
keeps that version however often the flow is published; published versions never change,
so they are cached here for the life of the process. Which version is live is read from the
store each time a conversation starts, so a publish on any process takes effect everywhere.
"""

from __future__ import annotations

from pathlib import Path

from bot.experiments.assign import apply
from bot.flow_versions import FlowVersions, live_of
from bot.flows import Flow, FlowError, load_flows
from bot.models import Conversation, FlowRef


class FlowBook:
    def __init__(self, flows: dict[str, Flow], default: str) -> None:
        if default not in flows:
            known = ", ".join(sorted(flows)) or "none"
            raise FlowError(f"default flow '{default}' not found (loaded: {known})")
        self._seeds = dict(flows)
        self._cache: dict[tuple[str, int], Flow] = {}
        self._store: FlowVersions | None = None
        self.default_id = default

    @classmethod
    def from_dir(cls, directory: Path, default: str) -> FlowBook:
        paths = list(directory.glob("*.yaml")) + list(directory.glob("*.yml"))
        if not paths:
            raise FlowError(f"{directory}: no flow files (*.yaml)")
        return cls(load_flows(paths), default)

    def seed_ids(self) -> list[str]:
        """The ids of the flows the files hold (what a new store is seeded with)."""
        return sorted(self._seeds)

    async def attach(self, versions: FlowVersions) -> list[str]:
        """Use the store's versions, seeding it with the flow files it lacks; returns the ids seeded."""
        self._store = versions
        return await versions.seed(self._seeds.values())

    @property
    def versions(self) -> FlowVersions:
        if self._store is None:
            raise RuntimeError("the flow book is not attached to the store yet")
        return self._store

    async def live(self, flow_id: str | None = None) -> Flow:
        """The published version new conversations start on; unknown ids get the default flow."""
        flow = await self._published(flow_id or self.default_id) or await self._published(self.default_id)
        if flow is None:
            raise FlowError(f"the default flow '{self.default_id}' has no published version")
        return flow

    async def _published(self, flow_id: str) -> Flow | None:
        """The flow's live version; None for an unknown or never-published flow."""
        number = await self.versions.live_version(flow_id)
        return None if number is None else await self.pinned(FlowRef(id=flow_id, version=number))

    async def pinned(self, ref: FlowRef) -> Flow:
        """The version a conversation started with."""
        key = (ref.id, ref.version)
        flow = self._cache.get(key)
        if flow is None:
            flow = self._cache[key] = await self.versions.flow(ref.id, ref.version)
        return flow

    async def for_conversation(self, conv: Conversation) -> Flow:
        """The conversation's pinned version with its A/B variants' texts in place."""
        flow = await self.pinned(conv.flow)
        return apply(flow, conv.variants) if conv.variants else flow

    async def for_channel(self, channel: str, requested: str | None = None) -> Flow:
        """Where a new conversation starts: the flow an embed asks for (`data-flow`), else the
        flow bound to the channel, else the default flow."""
        chosen = await self._published(requested) if requested is not None else None
        return chosen or await self.live(await self.versions.bound_flow(channel))

    async def live_flows(self) -> list[Flow]:
        """The live version of every published flow."""
        out = []
        for record in await self.versions.records():
            number = live_of(record)
            if number is not None:
                out.append(await self.pinned(FlowRef(id=record["_id"], version=number)))
        return out
