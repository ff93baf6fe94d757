"""Texts filled from the lead: `{slot}` and `{slot|fallback}` placeholders, and WhatsApp's
approved templates, whose numbered variables are such texts.

The flow's own template (`whatsapp`) and each follow-up step's (`nurture.steps.N.whatsapp`) use
the `WhatsApp` model; follow-up texts use the same placeholders (bot/nurture).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,40})(?:\|([^{}]*))?\}")


class TemplateValueMissing(ValueError):
    """A template variable needs a slot the lead has not given, and names no fallback."""


def placeholder_problem(text: str) -> str | None:
    """Why `text` has a brace that is not a placeholder; None when every brace is one."""
    if re.search(r"[{}]", PLACEHOLDER.sub("", text)):
        return "write placeholders as {slot} or {slot|fallback}"
    return None


def slots_named(text: str) -> set[str]:
    """The slots `text`'s placeholders read."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


def fill_placeholders(text: str, slots: Mapping[str, Any]) -> str:
    """`text` with the lead's slots in its placeholders (each value's whitespace collapsed)."""

    def fill(match: re.Match[str]) -> str:
        slot, fallback = match.group(1), match.group(2)
        known = slots.get(slot)
        value = " ".join(str(known).split()) if known is not None else ""
        if value:
            return value
        if fallback is None:
            raise TemplateValueMissing(
                f"the template needs the lead's {slot}, which is unknown; "
                f"give a fallback in the flow, like {{{slot}|there}}"
            )
        return fallback

    return PLACEHOLDER.sub(fill, text)


class WhatsApp(BaseModel):
    """The approved template WhatsApp gets once its 24-hour window is closed (docs/channels.md).

    `variables` fill the template's numbered variables from the lead: `{name}` is the `name`
    slot, `{name|there}` says "there" while the name is unknown.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("variables")
    @classmethod
    def _placeholders_well_formed(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_]{1,40}", key):
                raise ValueError(f'variable {key!r}: name variables like the template does, e.g. "1"')
            problem = placeholder_problem(text)
            if problem is not None:
                raise ValueError(f"variable {key!r}: {problem}")
        return value

    @property
    def slots_used(self) -> set[str]:
        return {slot for text in self.variables.values() for slot in slots_named(text)}

    def render(self, slots: Mapping[str, Any]) -> dict[str, str]:
        """The variables with the lead's slots filled in (whitespace collapsed, as WhatsApp wants)."""
        return {key: fill_placeholders(text, slots) for key, text in self.variables.items()}
