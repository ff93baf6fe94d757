"""A light check of tool arguments against the tool's JSON schema.

Not a validator: the qualifier's normalisers and validators judge every value afterwards. This
only tells a usable proposal from a malformed one, so a malformed one can be asked for again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _fits(value: Any, spec: Mapping[str, Any]) -> bool:
    kinds = spec.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        allowed = tuple(t for name in names for t in _TYPES.get(name, (object,)))
        # bool is an int in Python, never in JSON
        if isinstance(value, bool) and bool not in allowed:
            return False
        if not isinstance(value, allowed):
            return False
    choices = spec.get("enum")
    return choices is None or value in choices


def problem_with_args(args: object, schema: Mapping[str, Any]) -> str | None:
    """None when `args` is an object with the required keys and top-level values of the declared
    types; otherwise what is wrong, for the failure's detail."""
    if not isinstance(args, dict):
        return f"arguments are {type(args).__name__}, not an object"
    missing = [name for name in schema.get("required", ()) if name not in args]
    if missing:
        return f"missing {', '.join(missing)}"
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, value in args.items():
        spec = properties.get(name)
        if spec is None:
            if schema.get("additionalProperties") is False:
                return f"unexpected argument {name}"
            continue
        if not _fits(value, spec):
            return f"{name} has the wrong type or value"
    return None
