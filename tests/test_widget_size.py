"""The embeddable widget must stay small: widget.js + widget.css together ≤ 10 KB gzipped (level 9)."""

import gzip
import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parent.parent / "widget"
BUDGET = 10 * 1024


def test_widget_fits_in_10kb_gzipped() -> None:
    raw = b"".join((WIDGET / name).read_bytes() for name in ("widget.js", "widget.css"))
    size = len(gzip.compress(raw, compresslevel=9))
    print(f"widget.js + widget.css: {len(raw)} bytes raw, {size} bytes gzipped (budget {BUDGET})")
    assert size <= BUDGET, f"widget is {size} bytes gzipped, over the {BUDGET}-byte budget"


def test_widget_renders_text_only() -> None:
    js = (WIDGET / "widget.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, f"widget.js must not use {sink}"


def test_demo_page_has_no_inline_script_or_handlers() -> None:
    html = (WIDGET / "demo.html").read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S):
        assert not tag.strip(), "demo.html must not contain inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "demo.html must not use inline event handler attributes"
    assert not re.search(r"\sstyle\s*=", html), "demo.html must not use inline style attributes"
    assert '<script src="/widget.js"' in html
