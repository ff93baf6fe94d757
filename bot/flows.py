"""Flow schema: the questions, slots, scoring rules, thresholds and texts the bot follows.

A flow is data. The qualification graph is generic and takes a `Flow` as input; a
conversation pins the `(id, version)` it started with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SlotType = Literal[
    "text",  # free text, e.g. the visitor's need
    "company",  # an organisation name
    "person_name",  # a person's name
    "integer",  # a count, e.g. team size ("fifty", "about 40 people")
    "money",  # an amount per month ("10 grand", "$2-3k", "60k a year")
    "timeline",  # when they want to start -> immediate | short | medium | long
    "decision_maker",  # whether the visitor decides ("it's my call", "my boss decides")
    "boolean",  # plain yes / no
    "email",
    "phone",
    "choice",  # one of `choices`
]
InputHint = Literal["text", "email", "phone", "number", "choice"]
RuleOp = Literal["gte", "gt", "lte", "lt", "between", "eq", "in", "known"]

TIMELINE_BUCKETS = ("immediate", "short", "medium", "long")
DEFAULT_INPUT: dict[str, InputHint] = {
    "email": "email",
    "phone": "phone",
    "integer": "number",
    "timeline": "choice",
    "decision_maker": "choice",
    "boolean": "choice",
    "choice": "choice",
}
_SLOT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# Lead fields shown beside the slots in the API; a slot may not shadow them.
RESERVED_SLOT_NAMES = frozenset(
    {
        "id",
        "score",
        "grade",
        "temperature",
        "status",
        "score_reasons",
        "status_history",
        "skipped",
        "details",
        "conversation_ids",
        "created_at",
        "updated_at",
    }
)


class FlowError(ValueError):
    """A flow file that cannot be used; the message names the offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Slot(_Strict):
    name: str
    type: SlotType
    question: str = Field(min_length=1)
    reask: str | None = None  # said when the answer is invalid; a default per type otherwise
    required: bool = False
    choices: tuple[str, ...] = ()  # quick replies offered to the visitor
    input: InputHint | None = None  # widget input hint; derived from the type when absent
    label: str | None = None  # how replies and the inbox name the slot; derived from the name
    # Said when the slot is answered; "{value}" shows the answer as understood, so the
    # visitor can see (and correct) what the bot took from it. The flow's `thanks` otherwise.
    ack: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not _SLOT_NAME.match(value):
            raise ValueError("must be lower_snake_case, start with a letter, at most 41 characters")
        if value in RESERVED_SLOT_NAMES:
            raise ValueError(f"'{value}' is reserved for a lead field; pick another slot name")
        return value

    @field_validator("ack")
    @classmethod
    def _ack_placeholders(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"\{(?!value\})[^}]*\}", value):
            raise ValueError("the only placeholder an ack may use is {value}")
        return value

    @model_validator(mode="after")
    def _choice_needs_choices(self) -> Slot:
        if self.type == "choice" and not self.choices:
            raise ValueError("a slot of type 'choice' needs a non-empty 'choices' list")
        return self

    @property
    def input_hint(self) -> InputHint:
        return self.input or DEFAULT_INPUT.get(self.type, "text")


class Rule(_Strict):
    """`points` are added when the lead's `slot` satisfies `op value`."""

    slot: str
    op: RuleOp
    value: Any = None
    points: int = Field(ge=-100, le=100)

    @model_validator(mode="after")
    def _value_fits_op(self) -> Rule:
        if self.op == "between":
            ok = (
                isinstance(self.value, list | tuple)
                and len(self.value) == 2
                and all(isinstance(v, int | float) for v in self.value)
                and self.value[0] <= self.value[1]
            )
            if not ok:
                raise ValueError("'between' takes a list [low, high] of two numbers with low <= high")
        elif self.op in ("gte", "gt", "lte", "lt"):
            if not isinstance(self.value, int | float) or isinstance(self.value, bool):
                raise ValueError(f"'{self.op}' takes a number")
        elif self.op == "in":
            if not isinstance(self.value, list | tuple) or not self.value:
                raise ValueError("'in' takes a non-empty list")
        elif self.op == "eq" and self.value is None:
            raise ValueError("'eq' needs a value")
        return self

    @property
    def label(self) -> str:
        """Human wording used in score reasons, e.g. 'budget_monthly ≥ 5000: +30'."""
        shown = _show(self.value)
        symbols = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "=", "in": "in"}
        if self.op == "between":
            condition = f"{self.slot} {_show(self.value[0])}–{_show(self.value[1])}"
        elif self.op == "known":
            condition = f"{self.slot} given"
        else:
            condition = f"{self.slot} {symbols[self.op]} {shown}"
        sign = "+" if self.points >= 0 else "−"
        return f"{condition}: {sign}{abs(self.points)}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    return str(value)


class Bands(_Strict):
    """Score lower bounds; a score at or above a bound gets that band."""

    hot: int = 80
    warm: int = 50


class Grades(_Strict):
    A: int = 80
    B: int = 60
    C: int = 40


class Scoring(_Strict):
    rules: tuple[Rule, ...] = ()
    qualified_at: int = Field(default=70, ge=0, le=100)
    temperature: Bands = Bands()
    grades: Grades = Grades()


class Texts(_Strict):
    greeting: str
    handoff_requested: str = "Of course — I'm bringing in a person from our team. They'll reply right here."
    handoff_not_understood: str = (
        "I'm not getting this right — let me bring in a person from our team. They'll reply right here."
    )
    qualified: str = "Thanks, that's everything I need. A person from our team will join this chat shortly."
    unqualified: str = "Thanks for your time! We'll be in touch by email with resources that fit."
    opted_out: str = "You're unsubscribed and won't get more messages from us. Write START to opt back in."
    opted_in: str = "Welcome back! Let's pick up where we left off."
    skipped: str = "No problem."
    thanks: str = "Thanks!"
    not_understood: str = "Sorry, I didn't catch that."
    waiting_for_human: str = "A person from our team will reply here soon."
    closed: str = "This conversation is closed. Thanks again!"
    help: str = (
        'I\'m an automated assistant. Answer my questions, write "skip" to skip one, '
        '"talk to a person" to reach our team, or STOP to opt out.'
    )
    required: str = "I need this one to continue, sorry."


class Handoff(_Strict):
    # After this many turns in a row in which nothing was understood, the bot hands off
    # with reason `not_understood` instead of looping.
    max_not_understood: int = Field(default=3, ge=1, le=20)


class Flow(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    version: int = Field(default=1, ge=1)
    name: str
    region: str = Field(default="US", pattern=r"^[A-Z]{2}$")  # default region for phone numbers
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    texts: Texts
    slots: tuple[Slot, ...] = Field(min_length=1)
    scoring: Scoring = Scoring()
    handoff: Handoff = Handoff()

    @model_validator(mode="after")
    def _consistent(self) -> Flow:
        names = [s.name for s in self.slots]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"slot names must be unique; repeated: {', '.join(dupes)}")
        by_name = {s.name: s for s in self.slots}
        for i, rule in enumerate(self.scoring.rules):
            slot = by_name.get(rule.slot)
            if slot is None:
                raise ValueError(f"scoring.rules.{i}.slot: unknown slot '{rule.slot}'")
            if rule.op in ("gte", "gt", "lte", "lt", "between") and slot.type not in ("integer", "money"):
                raise ValueError(
                    f"scoring.rules.{i}.op: '{rule.op}' needs a numeric slot, '{slot.name}' is {slot.type}"
                )
            if slot.type == "timeline" and rule.op in ("eq", "in"):
                wanted = rule.value if isinstance(rule.value, list | tuple) else [rule.value]
                bad = [v for v in wanted if v not in TIMELINE_BUCKETS]
                if bad:
                    allowed = ", ".join(TIMELINE_BUCKETS)
                    raise ValueError(
                        f"scoring.rules.{i}.value: timeline is one of {allowed}; got {_show(bad)}"
                    )
        if self.scoring.temperature.warm > self.scoring.temperature.hot:
            raise ValueError("scoring.temperature: warm must not exceed hot")
        g = self.scoring.grades
        if not g.A >= g.B >= g.C:
            raise ValueError("scoring.grades: need A >= B >= C")
        return self

    def slot(self, name: str) -> Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)


def parse_flow(data: Any, source: str = "<flow>") -> Flow:
    """Validate raw flow data; raise FlowError whose message names each bad field."""
    if not isinstance(data, dict):
        raise FlowError(f"{source}: a flow is a mapping at the top level")
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(flow)"
            problems.append(f"{where}: {err['msg']}")
        raise FlowError(f"{source}: invalid flow\n  " + "\n  ".join(problems)) from None


def load_flow(path: Path) -> Flow:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise FlowError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_flow(data, str(path))


def load_flows(paths: Iterable[Path]) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for path in sorted(paths):
        flow = load_flow(path)
        if flow.id in flows:
            raise FlowError(f"{path}: flow id '{flow.id}' is defined twice")
        flows[flow.id] = flow
    return flows
