"""What changed between two versions of a flow, in lines an admin reads.

The flows API answers a saved draft, a publish, a rollback and a diff with these `changes`
(docs/api.md), e.g. "question `budget_monthly`: wording changed" or
"rule budget_monthly ≥ 5000: +30 → +25". Lines follow the flow's own section order, and within a
section the order of the items in the flow, so the same two versions always read the same way.

Strings the admin wrote (names, labels, choices, phrases) go into the lines as written: whoever
shows the lines renders them as text. Long ones are cut short; texts are only said to have changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from bot.comparison import describe
from bot.experiments.model import Experiment, Variant
from bot.flows import (
    WEEKDAYS,
    BusinessHours,
    Flow,
    Handoff,
    Routing,
    RoutingRule,
    Rule,
    Scoring,
    Slot,
    Texts,
    Week,
    WhatsApp,
)
from bot.nurture.schema import Decay, FollowUpStep, Nurture, QuietHours, describe_decay
from bot.privacy.consent_step import ConsentStep

_LONGEST_SHOWN = 60  # characters of an admin's string a line shows before cutting it short

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def describe_changes(old: Flow | None, new: Flow) -> list[str]:
    """Every difference from `old` to `new` as short lines; [] when they differ only in `version`."""
    if old is None:
        return ["new flow"]
    return [
        *_identity_changes(old, new),
        *_text_changes(old.texts, new.texts),
        *_slot_changes(old.slots, new.slots),
        *_scoring_changes(old.scoring, new.scoring),
        *_handoff_changes(old.handoff, new.handoff),
        *_routing_changes(old.routing, new.routing),
        *_hours_changes(old.business_hours, new.business_hours),
        *_whatsapp_changes(old.whatsapp, new.whatsapp),
        *_nurture_changes(old.nurture, new.nurture),
        *_decay_changes(old.decay, new.decay),
        *_experiment_changes(old.experiments, new.experiments),
        *_consent_changes(old.consent, new.consent),
    ]


# --- wording helpers ------------------------------------------------------------------------------


def _short(text: str) -> str:
    return text if len(text) <= _LONGEST_SHOWN else text[: _LONGEST_SHOWN - 1] + "…"


def _quoted(text: str | None) -> str:
    return "none" if text is None else f'"{_short(text)}"'


def _was(what: str, old: object, new: object) -> list[str]:
    """'what old → new' when the value changed."""
    return [] if old == new else [f"{what} {old} → {new}"]


def _wording(what: str, old: str | None, new: str | None) -> list[str]:
    """A text the admin may leave out: only whether it was added, removed or reworded."""
    if old == new:
        return []
    if old is None:
        return [f"{what} added"]
    if new is None:
        return [f"{what} removed"]
    return [f"{what} changed"]


def _each(noun: str, items: Sequence[str], verb: str) -> list[str]:
    """One line for several strings added (or removed): 'choices "ASAP", "Later" added'."""
    if not items:
        return []
    plural = "s" if len(items) > 1 else ""
    return [f"{noun}{plural} {', '.join(_quoted(item) for item in items)} {verb}"]


def _points(points: int) -> str:
    # Signed as in the score reasons agents see (Rule.label).
    return f"+{points}" if points >= 0 else f"−{abs(points)}"


def _value_key(value: Any) -> str:
    """A comparison's value as a hashable key; 5000 and 5000.0, or [1, 2] and (1, 2), are one value."""

    def plain(item: Any) -> Any:
        if isinstance(item, list | tuple):
            return [plain(v) for v in item]
        if isinstance(item, float) and item.is_integer():
            return int(item)
        return item

    # Key by JSON rather than the value itself: True and 1 hash alike but are different answers.
    return json.dumps(plain(value), sort_keys=True, default=str)


# --- matching items across versions ---------------------------------------------------------------


def _by_key(items: Sequence[T], key: Callable[[T], str]) -> dict[tuple[str, int], T]:
    """Items by (key, occurrence): two items with one key, like two routes with one condition,
    pair up in the order they are written instead of hiding each other."""
    seen: Counter[str] = Counter()
    keyed: dict[tuple[str, int], T] = {}
    for item in items:
        name = key(item)
        keyed[(name, seen[name])] = item
        seen[name] += 1
    return keyed


def _moved_alone(old: list[K], new: list[K]) -> K | None:
    """The one item whose move alone explains the new order; None when none or several could
    (a swap of two neighbours is either one moving, so it reads better as a reorder)."""
    movers = [k for k in old if [x for x in old if x != k] == [x for x in new if x != k]]
    return movers[0] if len(movers) == 1 else None


def _changed_span(old: list[str], new: list[str]) -> tuple[str, str]:
    """Both orders with the common start and end cut to '…', e.g. 'need, company, …'."""
    start, end = 0, len(old)
    while start < end and old[start] == new[start]:
        start += 1
    while end > start and old[end - 1] == new[end - 1]:
        end -= 1
    if start == end:
        # Items that differ only in ways the words do not show (a cut-short value): list them all.
        start, end = 0, len(old)

    def show(names: list[str]) -> str:
        head = ["…"] if start > 0 else []
        tail = ["…"] if end < len(names) else []
        return ", ".join([*head, *names[start:end], *tail])

    return show(old), show(new)


def _order_changes(
    noun: str,
    old_keys: list[K],
    new_keys: list[K],
    named: Callable[[K], str],
    listed: Callable[[K], str],
) -> list[str]:
    """Whether the items both versions hold come in another order; added and removed items
    shift positions without reordering anything. `named` names one item, `listed` in a list."""
    common = set(old_keys) & set(new_keys)
    old_order = [k for k in old_keys if k in common]
    new_order = [k for k in new_keys if k in common]
    if old_order == new_order:
        return []
    mover = _moved_alone(old_order, new_order)
    if mover is not None:
        before, after = old_keys.index(mover) + 1, new_keys.index(mover) + 1
        return [f"{noun} {named(mover)} moved from {before} to {after}"]
    old_span, new_span = _changed_span([listed(k) for k in old_order], [listed(k) for k in new_order])
    return [f"{noun}s reordered: {old_span} → {new_span}"]


# --- sections, in the flow's order ----------------------------------------------------------------


def _identity_changes(old: Flow, new: Flow) -> list[str]:
    lines = _was("id", old.id, new.id)
    if old.name != new.name:
        lines.append(f"name {_quoted(old.name)} → {_quoted(new.name)}")
    return [*lines, *_was("region", old.region, new.region), *_was("currency", old.currency, new.currency)]


def _text_changes(old: Texts, new: Texts) -> list[str]:
    return [
        f"text `{name}` changed" for name in Texts.model_fields if getattr(old, name) != getattr(new, name)
    ]


def _slot_changes(old: Sequence[Slot], new: Sequence[Slot]) -> list[str]:
    old_by_name = {s.name: s for s in old}
    new_names = {s.name for s in new}
    lines = [
        f"question `{slot.name}` added at {position}"
        for position, slot in enumerate(new, start=1)
        if slot.name not in old_by_name
    ]
    lines += [f"question `{slot.name}` removed" for slot in old if slot.name not in new_names]
    # Backticks name one question; the reorder line lists several, plainly.
    old_names, new_names_in_order = [s.name for s in old], [s.name for s in new]
    lines += _order_changes("question", old_names, new_names_in_order, lambda n: f"`{n}`", lambda n: n)
    for slot in new:
        before = old_by_name.get(slot.name)
        if before is not None:
            lines += [f"question `{slot.name}`: {change}" for change in _slot_field_changes(before, slot)]
    return lines


def _slot_field_changes(old: Slot, new: Slot) -> list[str]:
    """What changed in one question, in the order of the slot's fields."""
    lines = _was("type", old.type, new.type)
    if old.question != new.question:
        lines.append("wording changed")
    lines += _wording("reask", old.reask, new.reask)
    if old.required != new.required:
        lines.append("optional → required" if new.required else "required → optional")
    lines += _choice_changes(old.choices, new.choices)
    # The input hint as written; "default" means the slot's type picks it.
    lines += _was("input", old.input or "default", new.input or "default")
    if old.label != new.label:
        lines.append(f"label {_quoted(old.label)} → {_quoted(new.label)}")
    lines += _wording("ack", old.ack, new.ack)
    return lines


def _choice_changes(old: Sequence[str], new: Sequence[str]) -> list[str]:
    lines = _each("choice", [c for c in new if c not in old], "added")
    lines += _each("choice", [c for c in old if c not in new], "removed")
    kept_old, kept_new = [c for c in old if c in new], [c for c in new if c in old]
    if kept_old != kept_new:
        # Quick replies show in this order, so a reorder alone is a change the visitor sees.
        lines.append("choices reordered")
    return lines


def _rule_key(rule: Rule) -> str:
    return json.dumps([rule.slot, rule.op, _value_key(rule.value)])


def _condition(rule: Rule) -> str:
    return _short(describe(rule.slot, rule.op, rule.value))


def _scoring_changes(old: Scoring, new: Scoring) -> list[str]:
    # Rules are matched by their condition, so new points on the same condition read as a change
    # of points. Their order is not reported: a lead's score is the sum of the rules it matches.
    old_rules, new_rules = _by_key(old.rules, _rule_key), _by_key(new.rules, _rule_key)
    lines: list[str] = []
    for key, rule in new_rules.items():
        before = old_rules.get(key)
        if before is None:
            lines.append(f"rule {_condition(rule)} added: {_points(rule.points)}")
        elif before.points != rule.points:
            lines.append(f"rule {_condition(rule)}: {_points(before.points)} → {_points(rule.points)}")
    lines += [
        f"rule {_condition(rule)} removed (was {_points(rule.points)})"
        for key, rule in old_rules.items()
        if key not in new_rules
    ]
    lines += _was("qualified at", old.qualified_at, new.qualified_at)
    lines += _was("temperature hot at", old.temperature.hot, new.temperature.hot)
    lines += _was("temperature warm at", old.temperature.warm, new.temperature.warm)
    for grade in ("A", "B", "C"):
        lines += _was(f"grade {grade} at", getattr(old.grades, grade), getattr(new.grades, grade))
    return lines


def _handoff_changes(old: Handoff, new: Handoff) -> list[str]:
    lines = []
    if old.max_not_understood != new.max_not_understood:
        lines.append(
            f"hand-off after {old.max_not_understood} → {new.max_not_understood} turns not understood"
        )
    # Phrases are matched as words wherever they stand in the list, so only additions and removals count.
    lines += _each("hand-off phrase", [p for p in new.phrases if p not in old.phrases], "added")
    lines += _each("hand-off phrase", [p for p in old.phrases if p not in new.phrases], "removed")
    if old.score_at_least != new.score_at_least:
        before = "none" if old.score_at_least is None else old.score_at_least
        after = "none" if new.score_at_least is None else new.score_at_least
        lines.append(f"early hand-off at score {before} → {after}")
    return lines


def _route_condition(rule: RoutingRule) -> str:
    when = rule.when
    return _short(describe(when.subject, when.op, when.value))


def _route_key(rule: RoutingRule) -> str:
    # A slot may not be named "score" (a lead field), so the subject tells score and slot apart.
    return json.dumps([rule.when.subject, rule.when.op, _value_key(rule.when.value)])


def _routing_changes(old: Routing, new: Routing) -> list[str]:
    lines = _was("default team", old.default_team, new.default_team)
    old_rules, new_rules = _by_key(old.rules, _route_key), _by_key(new.rules, _route_key)
    for key, rule in new_rules.items():
        before = old_rules.get(key)
        if before is None:
            lines.append(f"route {_route_condition(rule)} → {rule.team} added")
        elif before.team != rule.team:
            lines.append(f"route {_route_condition(rule)}: team {before.team} → {rule.team}")
    lines += [
        f"route {_route_condition(rule)} → {rule.team} removed"
        for key, rule in old_rules.items()
        if key not in new_rules
    ]

    # The first matching route wins, so their order decides where a conversation goes.
    def shown(key: tuple[str, int]) -> str:
        return _route_condition(new_rules[key])

    lines += _order_changes("route", list(old_rules), list(new_rules), shown, shown)
    return lines


def _day_hours(hours: tuple[str, str] | None) -> str:
    return "closed" if hours is None else f"{hours[0]}–{hours[1]}"


def _week_summary(week: Week) -> str:
    """The open days, neighbours with the same hours run together: 'mon–thu 09:00–17:30, fri …'."""
    runs: list[tuple[str, str, str]] = []  # (first day, last day, hours)
    for index, day in enumerate(WEEKDAYS):
        hours: tuple[str, str] | None = getattr(week, day)
        if hours is None:
            continue
        shown = _day_hours(hours)
        if runs and runs[-1][2] == shown and runs[-1][1] == WEEKDAYS[index - 1]:
            runs[-1] = (runs[-1][0], day, shown)
        else:
            runs.append((day, day, shown))
    return ", ".join(
        f"{first} {times}" if first == last else f"{first}–{last} {times}" for first, last, times in runs
    )


def _hours_changes(old: BusinessHours | None, new: BusinessHours | None) -> list[str]:
    if new is None:
        return [] if old is None else ["business hours removed: always open"]
    if old is None:
        return [f"business hours added: {new.timezone}, {_week_summary(new.week)}"]
    lines = _was("business hours time zone", old.timezone, new.timezone)
    for day in WEEKDAYS:
        before, after = _day_hours(getattr(old.week, day)), _day_hours(getattr(new.week, day))
        lines += _was(f"business hours {day}", before, after)
    return lines


def _variable_order(name: str) -> tuple[bool, int, str]:
    # Template variables are numbered: "2" comes before "10".
    return (not name.isdigit(), int(name) if name.isdigit() else 0, name)


def _whatsapp_changes(old: WhatsApp | None, new: WhatsApp | None) -> list[str]:
    # No WhatsApp section reads as a template with no sid and no variables.
    old_sid = old.template_sid if old is not None else None
    new_sid = new.template_sid if new is not None else None
    old_vars, new_vars = (old.variables if old else {}), (new.variables if new else {})
    lines: list[str] = []
    if old_sid is None and new_sid is not None:
        lines.append(f"WhatsApp template {new_sid} added")
    elif old_sid is not None and new_sid is None:
        lines.append(f"WhatsApp template {old_sid} removed")
    else:
        lines += _was("WhatsApp template", old_sid, new_sid)
    for name in sorted(old_vars.keys() | new_vars.keys(), key=_variable_order):
        before, after = old_vars.get(name), new_vars.get(name)
        if before == after:
            continue
        if before is None:
            lines.append(f"WhatsApp variable {name} added: {_quoted(after)}")
        elif after is None:
            lines.append(f"WhatsApp variable {name} removed")
        else:
            lines.append(f"WhatsApp variable {name}: {_quoted(before)} → {_quoted(after)}")
    return lines


def _consent_changes(old: ConsentStep | None, new: ConsentStep | None) -> list[str]:
    if old is None and new is not None:
        return ["consent step added" + (" (required before writing)" if new.required else "")]
    if old is not None and new is None:
        return ["consent step removed"]
    if old is None or new is None:
        return []
    return [
        *_wording("consent text", old.text, new.text),
        # Worded like a question's `required`, not as Python's True/False.
        *_was("consent", _consent_kind(old), _consent_kind(new)),
        *_wording("consent button", old.button, new.button),
    ]


def _consent_kind(step: ConsentStep) -> str:
    return "required before writing" if step.required else "optional"


def _quiet(quiet: QuietHours | None) -> str:
    if quiet is None:
        return "none"
    return f"{quiet.start}–{quiet.end}" + (f" ({quiet.timezone})" if quiet.timezone else "")


def _nurture_changes(old: Nurture | None, new: Nurture | None) -> list[str]:
    # Steps are matched by position: they run in order, so "follow-up 2" is what an admin sees.
    if new is None:
        return [] if old is None else ["follow-ups removed"]
    if old is None:
        return [f"follow-ups added: {', '.join(step.after for step in new.steps)}"]
    lines: list[str] = []
    for i, (before, after) in enumerate(zip(old.steps, new.steps, strict=False)):
        lines += _follow_up_changes(f"follow-up {i + 1}", before, after)
    added = new.steps[len(old.steps) :]
    lines += [f"follow-up {len(old.steps) + i + 1} added: after {step.after}" for i, step in enumerate(added)]
    lines += [f"follow-up {i + 1} removed" for i in range(len(new.steps), len(old.steps))]
    lines += _was("follow-ups quiet hours", _quiet(old.quiet_hours), _quiet(new.quiet_hours))
    shown = {True: "business hours only", False: "any time"}
    lines += _was("follow-ups go", shown[old.business_hours_only], shown[new.business_hours_only])
    return lines


def _follow_up_changes(what: str, old: FollowUpStep, new: FollowUpStep) -> list[str]:
    lines = _was(f"{what}: after", old.after, new.after)
    lines += _was(f"{what}: when", ", ".join(old.when), ", ".join(new.when))
    lines += _wording(f"{what}: text", old.text, new.text)
    if old.whatsapp != new.whatsapp:
        old_sid = old.whatsapp.template_sid if old.whatsapp else None
        new_sid = new.whatsapp.template_sid if new.whatsapp else None
        template = _wording(f"{what}: WhatsApp template", old_sid, new_sid)
        lines += template or [f"{what}: WhatsApp variables changed"]
    return lines


def _decay_changes(old: Decay | None, new: Decay | None) -> list[str]:
    if new is None:
        return [] if old is None else ["score decay removed"]
    if old is None:
        return [f"score decay added: {describe_decay(new)}"]
    return _was("score decay", describe_decay(old), describe_decay(new))


def _experiment_changes(old: Sequence[Experiment], new: Sequence[Experiment]) -> list[str]:
    # Matched by id; their order in the flow means nothing, as each tests a different text.
    old_by_id, new_ids = {e.id: e for e in old}, {e.id for e in new}
    lines: list[str] = []
    for experiment in new:
        before = old_by_id.get(experiment.id)
        if before is None:
            lines.append(
                f"experiment `{experiment.id}` added: {experiment.target}, "
                f"{len(experiment.variants)} variants"
            )
        else:
            changes = _experiment_field_changes(before, experiment)
            lines += [f"experiment `{experiment.id}`: {change}" for change in changes]
    lines += [f"experiment `{e.id}` removed" for e in old if e.id not in new_ids]
    return lines


def _experiment_field_changes(old: Experiment, new: Experiment) -> list[str]:
    lines = _was("target", old.target, new.target)
    lines += _was("metric", old.metric, new.metric)
    old_variants = {v.id: v for v in old.variants}
    new_ids = [v.id for v in new.variants]
    for variant in new.variants:
        before = old_variants.get(variant.id)
        if before is None:
            lines.append(f"variant `{variant.id}` added (weight {variant.weight})")
        else:
            lines += [f"variant `{variant.id}`: {change}" for change in _variant_changes(before, variant)]
    lines += [f"variant `{v.id}` removed" for v in old.variants if v.id not in new_ids]
    # The first variant is the control the others are measured against.
    if old.control.id != new.control.id:
        lines.append(f"control `{old.control.id}` → `{new.control.id}`")
    else:
        kept_old = [v.id for v in old.variants if v.id in new_ids]
        kept_new = [i for i in new_ids if i in old_variants]
        if kept_old != kept_new:
            lines.append("variants reordered")
    return lines


def _variant_changes(old: Variant, new: Variant) -> list[str]:
    # A variant without text uses the flow's own, hence "added" / "removed".
    return [*_was("weight", old.weight, new.weight), *_wording("text", old.text, new.text)]
