"""A flow as a document: JSON for the store and the API, YAML for export and import.

The document is the flow's YAML schema as data, with only the fields that were written
(`exclude_unset`), so an export reads like a hand-written flow file and
`parse(export(flow)) == flow`, `export(parse(text)) == text` for any exported text.
Problems carry a dotted path into the document so an editor can show each next to its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from bot.flows import Flow, FlowError

# The whole-flow checks (in `Flow`'s model validators) start their message with the path at fault.
_PATH_PREFIX = re.compile(r"^(?:Value error, )?((?:[a-z_]+|\d+)(?:\.(?:[a-z_]+|\d+))*): (.+)$", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    path: str  # dotted, e.g. "scoring.rules.2.value"; "" for the flow as a whole
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def flow_document(flow: Flow) -> dict[str, Any]:
    """The flow as JSON-safe data in the YAML schema's shape."""
    return flow.model_dump(mode="json", by_alias=True, exclude_unset=True)


def problems(data: Any) -> list[Problem]:
    """Everything wrong with a flow document (empty when it is a valid flow)."""
    if not isinstance(data, dict):
        return [Problem("", "a flow is a mapping (an object) at the top level")]
    try:
        Flow.model_validate(data)
    except ValidationError as exc:
        return [_problem(err) for err in exc.errors()]
    return []


def _problem(err: Any) -> Problem:
    path = ".".join(str(part) for part in err["loc"])
    message = str(err["msg"])
    if not path:
        # A whole-flow check names the field itself: "scoring.rules.0.slot: unknown slot 'x'".
        named = _PATH_PREFIX.match(message)
        if named is not None:
            return Problem(named.group(1), named.group(2))
    return Problem(path, message.removeprefix("Value error, "))


def parse_document(data: Any, source: str = "flow") -> Flow:
    """A valid Flow from a document; FlowError listing every problem otherwise."""
    found = problems(data)
    if found:
        lines = "\n  ".join(f"{p.path or '(flow)'}: {p.message}" for p in found)
        raise FlowError(f"{source}: invalid flow\n  {lines}")
    return Flow.model_validate(data)


class _Dumper(yaml.SafeDumper):
    """Block style everywhere; long or multi-line texts stay readable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def export_yaml(flow: Flow) -> str:
    return to_yaml(flow_document(flow))


def read_yaml(text: str, source: str = "flow") -> Any:
    """The document a YAML text holds; FlowError when it is not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FlowError(f"{source}: not valid YAML: {exc}") from None
