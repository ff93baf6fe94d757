"""What an endpoint receives: a preset body shape, then the admin's per-field overrides.

Presets
- `leadbot`: our own JSON (bot/webhooks/payload.py), unchanged.
- `hubspot_contact`: `{"properties": {...}}`, the body of HubSpot's CRM v3 contacts API
  (create: POST /crm/v3/objects/contacts; update: PATCH …/contacts/{email}?idProperty=email).
- `salesforce_lead`: a Lead sObject (POST /services/data/vXX.X/sobjects/Lead/).

Fields the lead has no value for are left out rather than sent empty: an update then keeps what
the CRM already has instead of blanking it.

Overrides map a target field (a dotted path into the body: `properties.leadbot_score`,
`Leadbot_Score__c`) to `{"from": "<path into the leadbot document>"}` or `{"value": <constant>}`.
A `from` path that has no value removes the field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from bot.webhooks.payload import ROOTS

Preset = Literal["leadbot", "hubspot_contact", "salesforce_lead"]
PRESETS: Final[tuple[str, ...]] = get_args(Preset)
MAX_OVERRIDES: Final = 50
MAX_CONSTANT_CHARS: Final = 1000
_PATH: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_MAX_PATH_CHARS: Final = 200

# Salesforce refuses a Lead without LastName or Company: this is what goes when the lead has none
# (the placeholder Salesforce's own Web-to-Lead uses).
NOT_PROVIDED: Final = "[not provided]"

# HubSpot's default contact properties: lead status (internal values) and lifecycle stage.
HUBSPOT_LEAD_STATUS: Final = {
    "new": "NEW",
    "engaged": "NEW",
    "qualified": "OPEN",
    "converted": "OPEN_DEAL",
    "unqualified": "UNQUALIFIED",
    "opted_out": "UNQUALIFIED",
    "lost": "UNQUALIFIED",
}
HUBSPOT_LIFECYCLE: Final = {
    "new": "lead",
    "engaged": "lead",
    "qualified": "salesqualifiedlead",
    "converted": "customer",
    "unqualified": "other",
    "opted_out": "other",
    "lost": "other",
}
# Salesforce's standard Lead Status and Lead Source picklist values.
SALESFORCE_STATUS: Final = {
    "new": "Open - Not Contacted",
    "engaged": "Open - Not Contacted",
    "qualified": "Open - Not Contacted",
    "converted": "Closed - Converted",
    "unqualified": "Closed - Not Converted",
    "opted_out": "Closed - Not Converted",
    "lost": "Closed - Not Converted",
}
SALESFORCE_SOURCE: Final = {"web": "Web", "sms": "Phone Inquiry", "whatsapp": "Phone Inquiry"}
SALESFORCE_RATING: Final = {"hot": "Hot", "warm": "Warm", "cold": "Cold"}
# Slots that have a field of their own in the CRM shapes; the rest go into a description.
_CONTACT_SLOTS: Final = ("name", "email", "phone", "company")


class MappingInvalid(ValueError):
    """Mapping input that cannot be used: `field` names where, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Override:
    source: str | None = None  # a path into the leadbot document …
    value: Any = None  # … or this constant

    def as_json(self) -> dict[str, Any]:
        return {"from": self.source} if self.source is not None else {"value": self.value}


@dataclass(frozen=True)
class FieldMapping:
    preset: Preset = "leadbot"
    overrides: tuple[tuple[str, Override], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"preset": self.preset, "overrides": {t: o.as_json() for t, o in self.overrides}}


# -- reading paths -----------------------------------------------------------------------


def lookup(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    value: Any = document
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _place(body: dict[str, Any], path: str, value: Any) -> None:
    steps = path.split(".")
    here = body
    for step in steps[:-1]:
        nested = here.get(step)
        if not isinstance(nested, dict):
            nested = here[step] = {}
        here = nested
    if value is None:
        here.pop(steps[-1], None)
    else:
        here[steps[-1]] = value


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split_name(name: Any) -> tuple[str | None, str | None]:
    """(first, last): the last word is the last name; a single word is a first name only."""
    if not isinstance(name, str) or not name.strip():
        return None, None
    words = name.split()
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _description(document: Mapping[str, Any]) -> str | None:
    """The lead's other answers and its score, one per line, for a CRM's free-text field."""
    lead = document.get("lead") or {}
    lines = [
        f"{name}: {_text(value)}"
        for name, value in (lead.get("slots") or {}).items()
        if name not in _CONTACT_SLOTS and _text(value) is not None
    ]
    if lead.get("score") is not None:
        lines.append(f"score: {lead['score']} (grade {lead.get('grade')}, {lead.get('temperature')})")
    return "\n".join(lines) or None


# -- presets -----------------------------------------------------------------------------


def leadbot_body(document: Mapping[str, Any]) -> dict[str, Any]:
    return dict(document)


def hubspot_contact_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """HubSpot contact properties; values as text, as HubSpot stores every property."""
    lead = document.get("lead") or {}
    slots = lead.get("slots") or {}
    first, last = split_name(slots.get("name"))
    status = lead.get("status")
    properties = {
        "email": _text(slots.get("email")),
        "firstname": first,
        "lastname": last,
        "phone": _text(slots.get("phone")),
        "company": _text(slots.get("company")),
        "hs_lead_status": HUBSPOT_LEAD_STATUS.get(str(status)),
        "lifecyclestage": HUBSPOT_LIFECYCLE.get(str(status)),
    }
    return {"properties": _compact(properties)}


def salesforce_lead_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """A Lead sObject. LastName and Company are required by Salesforce: a one-word name is the
    last name, and either falls back to NOT_PROVIDED."""
    lead = document.get("lead") or {}
    slots = lead.get("slots") or {}
    conversation = document.get("conversation") or {}
    first, last = split_name(slots.get("name"))
    if last is None:
        first, last = None, first
    team_size = slots.get("team_size")
    employees = team_size if isinstance(team_size, int) and not isinstance(team_size, bool) else None
    channel = conversation.get("channel")
    source = SALESFORCE_SOURCE.get(str(channel), "Other") if channel else None
    status = str(lead.get("status"))
    fields = {
        "FirstName": first,
        "LastName": last or NOT_PROVIDED,
        "Company": _text(slots.get("company")) or NOT_PROVIDED,
        "Email": _text(slots.get("email")),
        "Phone": _text(slots.get("phone")),
        "LeadSource": source,
        "Status": SALESFORCE_STATUS.get(status),
        "Rating": SALESFORCE_RATING.get(str(lead.get("temperature"))),
        "NumberOfEmployees": employees,
        "Description": _description(document),
        "HasOptedOutOfEmail": True if status == "opted_out" else None,
    }
    return _compact(fields)


PRESET_BODIES: Final[dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "leadbot": leadbot_body,
    "hubspot_contact": hubspot_contact_body,
    "salesforce_lead": salesforce_lead_body,
}


def render(mapping: FieldMapping, document: Mapping[str, Any]) -> dict[str, Any]:
    """The body an endpoint with `mapping` receives for the event `document`.

    The body shares nothing with `document`: one event's document is rendered for every
    endpoint it goes to, and one endpoint's overrides must not change what the next receives
    (`from` paths read the event as it happened)."""
    body = PRESET_BODIES[mapping.preset](copy.deepcopy(document))
    for target, override in mapping.overrides:
        value = lookup(document, override.source) if override.source is not None else override.value
        _place(body, target, copy.deepcopy(value))
    return body


# -- reading an admin's input ------------------------------------------------------------


def _path(raw: Any, field: str, what: str) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > _MAX_PATH_CHARS or not _PATH.match(raw):
        raise MappingInvalid(
            field, f"{what} must be a dotted path of letters, digits and '_' (like lead.slots.company)"
        )
    return raw


def _override(target: str, raw: Any) -> Override:
    field = f"mapping.overrides.{target}"
    if not isinstance(raw, dict) or len(raw) != 1 or not ({"from", "value"} & raw.keys()):
        raise MappingInvalid(
            field, 'each override is {"from": "lead.slots.company"} or {"value": "a constant"}'
        )
    if "from" in raw:
        source = _path(raw["from"], field, "the source")
        if source.split(".")[0] not in ROOTS:
            raise MappingInvalid(field, f"the source must start with one of {', '.join(ROOTS)}")
        return Override(source=source)
    value = raw["value"]
    if not (value is None or isinstance(value, str | int | float | bool)):
        raise MappingInvalid(field, "a constant is text, a number, true/false or null")
    if isinstance(value, str) and len(value) > MAX_CONSTANT_CHARS:
        raise MappingInvalid(field, f"a constant is at most {MAX_CONSTANT_CHARS} characters")
    return Override(value=value)


def parse_mapping(raw: Any) -> FieldMapping:
    """An admin's mapping input, or MappingInvalid saying what is wrong with it."""
    if raw is None:
        return FieldMapping()
    if not isinstance(raw, dict):
        raise MappingInvalid("mapping", 'the mapping is an object like {"preset": "hubspot_contact"}')
    unknown = sorted(set(raw) - {"preset", "overrides"})
    if unknown:
        raise MappingInvalid("mapping", f"unknown mapping field {unknown[0]!r}; use preset and overrides")
    preset = raw.get("preset", "leadbot")
    if preset not in PRESETS:
        raise MappingInvalid("mapping.preset", f"the preset must be one of {', '.join(PRESETS)}")
    overrides_raw = raw.get("overrides")
    overrides_raw = {} if overrides_raw is None else overrides_raw
    if not isinstance(overrides_raw, dict):
        raise MappingInvalid("mapping.overrides", "overrides map a target field to its source")
    if len(overrides_raw) > MAX_OVERRIDES:
        raise MappingInvalid("mapping.overrides", f"at most {MAX_OVERRIDES} overrides")
    overrides = tuple(
        (_path(target, f"mapping.overrides.{target}", "a target field"), _override(target, value))
        for target, value in overrides_raw.items()
    )
    return FieldMapping(preset=preset, overrides=overrides)
