"""The flow's `consent` section: what the widget asks a visitor to accept before (or while)
they chat. Only the schema lives here, so bot/flows.py can import it without the rest.

```yaml
consent:
  text: "We keep this chat to answer you. Privacy policy: https://example.com/privacy"
  required: true     # the visitor must accept before they can write
  button: Accept     # the button's label
```

The widget renders the text as text: a link is written as a plain URL and shown as such.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT: Final = 1000
# Markup the widget would show literally: tags and Markdown links.
_MARKUP: Final = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>|\[[^\]]*\]\([^)]*\)")


class ConsentStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    required: bool = False  # True: messages are refused (`consent_required`) until accepted
    button: str = Field(default="Accept", min_length=1, max_length=40)

    @field_validator("text", "button")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write some text")
        if _MARKUP.search(value):
            raise ValueError(
                "the widget shows text only, never markup: write a link as a plain URL, "
                "e.g. https://example.com/privacy"
            )
        return value.strip()
