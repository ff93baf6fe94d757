"""Plain text from an HTML email body, for mail that has no text part.

Blocks become lines and blockquotes become ">"-quoted lines, so the reply stripper
(channels/email_reply.py) treats HTML-only mail like any other. Scripts, styles and the
head are dropped; nothing here is ever rendered.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Final

_BLOCKS: Final = frozenset(
    {
        "address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_HIDDEN: Final = frozenset({"head", "script", "style", "template", "title"})
_VOID: Final = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, list[str]]] = [(0, [])]
        self.depth = 0  # blockquotes open
        self.hidden = 0  # hidden elements open

    def _new_line(self) -> None:
        self.lines.append((self.depth, []))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        if tag in _BLOCKS:
            if tag == "blockquote":
                self.depth += 1
            self._new_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._new_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in _BLOCKS and tag not in _VOID:
            if tag == "blockquote" and self.depth:
                self.depth -= 1
            self._new_line()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.lines[-1][1].append(data)

    def text(self) -> str:
        out: list[str] = []
        for depth, parts in self.lines:
            line = " ".join("".join(parts).split())
            if line:
                out.append("> " * depth + line)
            elif out and out[-1]:
                out.append("")
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.text()
