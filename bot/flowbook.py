"""The flows a server knows, by id and version.

Flows are loaded from YAML files at start. A conversation pins `(id, version)`; every
version loaded during the process's life stays available so a running conversation
keeps the flow it started with.
"""

from __future__ import annotations

from pathlib import Path

from bot.flows import Flow, FlowError, load_flows
from bot.models import FlowRef


class FlowBook:
    def __init__(self, flows: dict[str, Flow], default: str) -> None:
        if default not in flows:
            known = ", ".join(sorted(flows)) or "none"
            raise FlowError(f"default flow '{default}' not found (loaded: {known})")
        self._current = dict(flows)
        self._versions = {flow.key: flow for flow in flows.values()}
        self.default_id = default

    @classmethod
    def from_dir(cls, directory: Path, default: str) -> FlowBook:
        paths = list(directory.glob("*.yaml")) + list(directory.glob("*.yml"))
        if not paths:
            raise FlowError(f"{directory}: no flow files (*.yaml)")
        return cls(load_flows(paths), default)

    def current(self, flow_id: str | None = None) -> Flow:
        """The live version of a flow; unknown ids get the default flow."""
        return self._current.get(flow_id or self.default_id) or self._current[self.default_id]

    def pinned(self, ref: FlowRef) -> Flow:
        """The version a conversation started with (the live one if that is gone)."""
        return self._versions.get((ref.id, ref.version)) or self.current(ref.id)

    def ids(self) -> list[str]:
        return sorted(self._current)
