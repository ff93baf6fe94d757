"""JSON written piece by piece: the same text as `json.dumps(value, ensure_ascii=False, indent=1)`
of the whole document, without ever holding the whole document.

A value is either plain (encoded in one go) or `Streamed`: something that yields its own JSON
text in pieces, such as a list read from the store page by page or a file's base64.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

INDENT = 1  # spaces per level, as the export always had


@dataclass(frozen=True)
class Streamed:
    """A value whose JSON text `pieces(level)` yields, `level` being where it is nested."""

    pieces: Callable[[int], AsyncIterator[str]]


def _newline(level: int) -> str:
    return "\n" + " " * (INDENT * level)


def dumps(value: Any, level: int) -> str:
    """A plain value's text, nested `level` deep. JSON text holds no raw newline except the
    indentation's (newlines in strings are escaped), so indenting the lines is enough."""
    return json.dumps(value, ensure_ascii=False, indent=INDENT).replace("\n", _newline(level))


async def value_pieces(value: Any, level: int) -> AsyncIterator[str]:
    if isinstance(value, Streamed):
        async for piece in value.pieces(level):
            yield piece
    else:
        yield dumps(value, level)


async def object_pieces(fields: Iterable[tuple[str, Any]], level: int) -> AsyncIterator[str]:
    """An object of `fields` in order; each value plain or `Streamed`."""
    empty = True
    yield "{"
    for key, value in fields:
        yield ("" if empty else ",") + _newline(level + 1) + json.dumps(key, ensure_ascii=False) + ": "
        empty = False
        async for piece in value_pieces(value, level + 1):
            yield piece
    yield "}" if empty else _newline(level) + "}"


async def array_pieces(items: AsyncIterable[Any], level: int) -> AsyncIterator[str]:
    """An array of `items` as they come; each plain or `Streamed`."""
    empty = True
    yield "["
    async for item in items:
        yield ("" if empty else ",") + _newline(level + 1)
        empty = False
        async for piece in value_pieces(item, level + 1):
            yield piece
    yield "]" if empty else _newline(level) + "]"
