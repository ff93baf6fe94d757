"""Flow schema: the questions, slots, scoring rules, thresholds and texts the bot follows.

A flow is data. The qualification graph is generic and takes a `Flow` as input; a
conversation pins the `(id, version)` it started with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.comparison import NUMERIC_OPS, OPS, Op, check_operand, describe, is_number, show
from bot.experiments.model import TARGET, Experiment
from bot.nurture.schema import Decay, Nurture, cross_check
from bot.privacy.consent_step import ConsentStep
from bot.whatsapp_template import TemplateValueMissing as TemplateValueMissing
from bot.whatsapp_template import WhatsApp as WhatsApp

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
RuleOp = Op

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
        "score_history",
        "skipped",
        "details",
        "conversation_ids",
        "variants",
        "consent",
        "merged_ids",
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
        check_operand(self.op, self.value)
        return self

    @property
    def label(self) -> str:
        """Human wording used in score reasons, e.g. 'budget_monthly ≥ 5000: +30'."""
        sign = "+" if self.points >= 0 else "−"
        return f"{describe(self.slot, self.op, self.value)}: {sign}{abs(self.points)}"


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
    closed: str = "This conversation is closed. Thanks again!"
    resumed: str = "Thanks for your patience — let's pick up where we left off."
    after_hours: str = "Our team is away right now — they're back {when}."
    after_hours_handoff: str = "A person will reply here as soon as they're back."
    callback: str = "So they can get back to you:"
    all_set: str = "You're all set. If you need anything else, just write here or ask for a person."
    help: str = (
        'I\'m an automated assistant. Answer my questions, write "skip" to skip one, '
        '"talk to a person" to reach our team, or STOP to opt out.'
    )
    required: str = "I need this one to continue, sorry."

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # A blank text would send the visitor an empty message.
        if not value.strip():
            raise ValueError("write some text, or leave the field out to use the default wording")
        return value


class FlowLlm(_Strict):
    """How LLM mode works on this flow (docs/llm.md); without LLM mode it is ignored."""

    enabled: bool = True
    model: str | None = Field(default=None, min_length=1, max_length=100)  # None: LEADBOT_LLM_MODEL
    max_output_tokens: int | None = Field(default=None, ge=16, le=4000)  # None: LEADBOT_LLM_MAX_OUTPUT_TOKENS
    extract: bool = True  # the model proposes slot values from free text (checked like typed ones)
    compose: bool = True  # the model words the replies, in the visitor's language
    # Facts the bot may answer visitors' questions from; without it, it answers none.
    knowledge: str | None = Field(default=None, min_length=1, max_length=20_000)
    # What the bot may say about prices; without it, a reply that names a price is not sent.
    prices: str | None = Field(default=None, min_length=1, max_length=2_000)
    # Links a reply may hold: hosts ("example.com") or URL prefixes; any other link blocks the reply.
    allowed_urls: tuple[str, ...] = ()
    tone: str | None = Field(default=None, min_length=1, max_length=300)  # e.g. "warm, brief, no emoji"


class Handoff(_Strict):
    # After this many turns in a row in which nothing was understood, the bot hands off
    # with reason `not_understood` instead of looping.
    max_not_understood: int = Field(default=3, ge=1, le=20)
    # Words that count as asking for a person, beside the built-in ones ("talk to a human" …),
    # e.g. "pricing" or "demo"; matched as whole words, case-insensitively.
    phrases: tuple[str, ...] = ()
    # Hand off as soon as the score reaches this, without waiting for the remaining questions.
    score_at_least: int | None = Field(default=None, ge=0, le=100)

    @field_validator("phrases")
    @classmethod
    def _phrases_are_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(" ".join(p.split()) for p in value)
        for phrase in cleaned:
            if not phrase or len(phrase) > 60:
                raise ValueError("each phrase is 1 to 60 characters")
        if len({p.casefold() for p in cleaned}) != len(cleaned):
            raise ValueError("a phrase is listed twice")
        return cleaned


TEAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,40}$"
# The fields a comparison is written with; `in` is a Python keyword, hence `in_`.
_OP_FIELDS: dict[Op, str] = {op: ("in_" if op == "in" else op) for op in OPS}
SCORE_OPS: tuple[Op, ...] = ("gte", "gt", "lte", "lt", "between", "eq")


class _Comparison(_Strict):
    """One comparison from the scoring vocabulary, written `{op: value}`: `{gte: 80}`, `{eq: DE}`."""

    gte: Any = None
    gt: Any = None
    lte: Any = None
    lt: Any = None
    between: Any = None
    eq: Any = None
    in_: Any = Field(default=None, alias="in")
    known: Any = None

    def _written(self) -> tuple[Op, Any]:
        # Which keys were written, not which are non-null: `eq: null` must be reported, not ignored.
        given = [
            (op, getattr(self, name)) for op, name in _OP_FIELDS.items() if name in self.model_fields_set
        ]
        if len(given) != 1:
            written = ", ".join(op for op, _ in given) or "none"
            raise ValueError(f"give exactly one comparison of {', '.join(OPS)}; got {written}")
        op, value = given[0]
        if op == "known" and value is not True:
            raise ValueError("'known' takes true")
        check_operand(op, value)
        return op, value


class ScoreComparison(_Comparison):
    """How a routing rule compares the lead's score: `{gte: 80}`, `{between: [50, 79]}`."""

    @model_validator(mode="after")
    def _one_numeric_comparison(self) -> ScoreComparison:
        op, value = self._written()
        if op not in SCORE_OPS:
            raise ValueError(f"the score is compared with {', '.join(SCORE_OPS)}; not '{op}'")
        if op == "eq" and not is_number(value):
            raise ValueError("'eq' takes a number for the score")
        return self

    @property
    def op(self) -> Op:
        return self._written()[0]

    @property
    def value(self) -> Any:
        return self._written()[1]


class Condition(_Comparison):
    """When a routing rule applies: `{score: {gte: 80}}` or `{slot: country, eq: DE}`."""

    score: ScoreComparison | None = None
    slot: str | None = None

    @model_validator(mode="after")
    def _score_or_one_slot_comparison(self) -> Condition:
        if (self.score is None) == (self.slot is None):
            raise ValueError("give either score: {gte: 80} or slot: NAME with one comparison, e.g. eq: DE")
        if self.score is not None:
            if any(name in self.model_fields_set for name in _OP_FIELDS.values()):
                raise ValueError("the score's comparison goes inside it, e.g. score: {gte: 80}")
        else:
            self._written()
        return self

    @property
    def subject(self) -> str:
        """What is compared: 'score' or the slot's name."""
        return self.slot if self.slot is not None else "score"

    @property
    def op(self) -> Op:
        return self.score.op if self.score is not None else self._written()[0]

    @property
    def value(self) -> Any:
        return self.score.value if self.score is not None else self._written()[1]


class RoutingRule(_Strict):
    when: Condition
    team: str = Field(pattern=TEAM_PATTERN)


class Routing(_Strict):
    """Which team a handed-off conversation goes to: the first rule that matches, else the default."""

    default_team: str = Field(default="sales", pattern=TEAM_PATTERN)
    rules: tuple[RoutingRule, ...] = ()


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # in `date.weekday()` order
_TIME_OF_DAY = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def minutes_after_midnight(time_of_day: str) -> int:
    """'09:30' -> 570; '24:00' (closing at midnight) -> 1440."""
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


class Week(_Strict):
    """Opening hours per weekday, `[open, close]` in local time; a day left out is closed.

    A day's hours do not run past midnight: close at "24:00" and open the next day at "00:00".
    """

    mon: tuple[str, str] | None = None
    tue: tuple[str, str] | None = None
    wed: tuple[str, str] | None = None
    thu: tuple[str, str] | None = None
    fri: tuple[str, str] | None = None
    sat: tuple[str, str] | None = None
    sun: tuple[str, str] | None = None

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _times_are_quoted(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 17:30 as the number 1050 (base 60), which would otherwise
        # surface as a baffling "should be a valid string".
        if isinstance(value, list | tuple) and any(is_number(v) for v in value):
            raise ValueError('write times in quotes, like ["09:00", "17:30"]; YAML reads 17:30 as a number')
        return value

    @field_validator(*WEEKDAYS)
    @classmethod
    def _open_before_close(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is None:
            return None
        for time_of_day in value:
            if not _TIME_OF_DAY.match(time_of_day):
                raise ValueError(f"'{time_of_day}' is not a time of day like 09:00 (00:00 to 24:00)")
        opens, closes = value
        if minutes_after_midnight(opens) >= minutes_after_midnight(closes):
            raise ValueError(f"opens at {opens} but closes at {closes}; the opening must come first")
        return value

    @model_validator(mode="after")
    def _some_day_is_open(self) -> Week:
        if all(getattr(self, day) is None for day in WEEKDAYS):
            raise ValueError("no day is open; leave business_hours out to be always open")
        return self

    def minutes_on(self, weekday: int) -> tuple[int, int] | None:
        """(open, close) in minutes after midnight on `weekday` (0 = Monday), None when closed."""
        hours: tuple[str, str] | None = getattr(self, WEEKDAYS[weekday])
        if hours is None:
            return None
        return minutes_after_midnight(hours[0]), minutes_after_midnight(hours[1])


class BusinessHours(_Strict):
    timezone: str  # an IANA name, e.g. Europe/Berlin; hours follow its daylight saving time
    week: Week

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'; use an IANA name like Europe/Berlin") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _slot_comparison_problem(slot: Slot, op: Op, value: Any) -> tuple[str, str] | None:
    """(the part at fault, why) when `slot` cannot be compared as `op value`."""
    if op in NUMERIC_OPS and slot.type not in ("integer", "money"):
        return "op", f"'{op}' needs a numeric slot, '{slot.name}' is {slot.type}"
    if slot.type == "timeline" and op in ("eq", "in"):
        wanted = value if isinstance(value, list | tuple) else [value]
        bad = [v for v in wanted if v not in TIMELINE_BUCKETS]
        if bad:
            return "value", f"timeline is one of {', '.join(TIMELINE_BUCKETS)}; got {show(bad)}"
    return None


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
    routing: Routing = Routing()
    business_hours: BusinessHours | None = None  # None: always open
    whatsapp: WhatsApp | None = None  # None: nothing goes out on WhatsApp once its window closes
    experiments: tuple[Experiment, ...] = ()  # A/B tests of its texts (bot/experiments/model.py)
    llm: FlowLlm = FlowLlm()  # LLM mode on this flow (docs/llm.md)
    nurture: Nurture | None = None  # follow-ups to silent leads (docs/nurture.md); None: none
    decay: Decay | None = None  # score decay for silent leads (docs/nurture.md); None: none
    consent: ConsentStep | None = None  # the widget's consent step (docs/privacy.md); None: none

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
            problem = _slot_comparison_problem(slot, rule.op, rule.value)
            if problem is not None:
                raise ValueError(f"scoring.rules.{i}.{problem[0]}: {problem[1]}")
        for i, routing_rule in enumerate(self.routing.rules):
            when = routing_rule.when
            if when.slot is None:
                continue
            slot = by_name.get(when.slot)
            if slot is None:
                raise ValueError(f"routing.rules.{i}.when.slot: unknown slot '{when.slot}'")
            problem = _slot_comparison_problem(slot, when.op, when.value)
            if problem is not None:
                raise ValueError(f"routing.rules.{i}.when.{when.op}: {problem[1]}")
        if self.scoring.temperature.warm > self.scoring.temperature.hot:
            raise ValueError("scoring.temperature: warm must not exceed hot")
        g = self.scoring.grades
        if not g.A >= g.B >= g.C:
            raise ValueError("scoring.grades: need A >= B >= C")
        return self

    @model_validator(mode="after")
    def _whatsapp_variables_name_slots(self) -> Flow:
        unknown = sorted(self.whatsapp.slots_used - {s.name for s in self.slots}) if self.whatsapp else []
        if unknown:
            raise ValueError(f"whatsapp.variables: unknown slot {', '.join(map(repr, unknown))}")
        return self

    @model_validator(mode="after")
    def _nurture_fits_the_flow(self) -> Flow:
        zone = self.business_hours.timezone if self.business_hours else None
        problem = cross_check(self.nurture, [s.name for s in self.slots], zone)
        if problem is not None:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _experiments_target_texts(self) -> Flow:
        ids = [e.id for e in self.experiments]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"experiments: ids must be unique; repeated: {', '.join(repeated)}")
        targets: set[str] = set()
        slots = {s.name for s in self.slots}
        for i, experiment in enumerate(self.experiments):
            match = TARGET.match(experiment.target)
            assert match is not None  # checked by Experiment
            text_name, slot_name, _ = match.groups()
            if text_name is not None and text_name not in Texts.model_fields:
                raise ValueError(f"experiments.{i}.target: there is no text '{text_name}'")
            if slot_name is not None and slot_name not in slots:
                raise ValueError(f"experiments.{i}.target: unknown slot '{slot_name}'")
            self._check_variant_texts(i, experiment)
            if experiment.target in targets:
                raise ValueError(
                    f"experiments.{i}.target: another experiment already tests {experiment.target}"
                )
            targets.add(experiment.target)
        return self

    def _check_variant_texts(self, index: int, experiment: Experiment) -> None:
        """Each variant's text must be one the target itself would accept (no blank text,
        no placeholder an ack cannot fill)."""
        match = TARGET.match(experiment.target)
        assert match is not None
        text_name, slot_name, field = match.groups()
        for j, variant in enumerate(experiment.variants):
            if variant.text is None:
                continue
            try:
                if text_name is not None:
                    Texts.model_validate({**self.texts.model_dump(), text_name: variant.text})
                else:
                    slot = next(s for s in self.slots if s.name == slot_name)
                    Slot.model_validate({**slot.model_dump(exclude_unset=True), field: variant.text})
            except ValidationError as exc:
                message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                raise ValueError(f"experiments.{index}.variants.{j}.text: {message}") from None

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
