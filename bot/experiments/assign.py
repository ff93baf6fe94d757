"""Which variant of each experiment a subject gets, and the flow as that subject sees it.

A subject is whatever identifies the visitor on a channel: a visitor id, a phone number or
email, a lead id. Assignment hashes `"{flow id}:{experiment id}:{subject}"`, so it needs no
storage, survives restarts and new flow versions that keep the experiment, and differs between
experiments (a visitor in variant b of one test is not more likely to be in b of another).

Everything here is pure: flows are frozen, and every function returns a new flow or the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from bot.experiments.model import TARGET, Experiment, Variant
from bot.flows import Flow, Slot, Texts

_HASH_BYTES = 8
_HASH_RANGE = 1 << (8 * _HASH_BYTES)


def assign(flow: Flow, subject: str, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """{experiment id: variant id} for every experiment of `flow`.

    `known` holds assignments recorded earlier (on the lead, from another channel); one is kept
    while its experiment and variant still exist and the variant still gets traffic, so a visitor
    who moves from the widget to email keeps seeing the same text. Anything else is hashed.
    """
    known = known or {}
    assignments: dict[str, str] = {}
    for experiment in flow.experiments:
        earlier = experiment.variant(known.get(experiment.id, ""))
        if earlier is not None and earlier.weight > 0:
            assignments[experiment.id] = earlier.id
        else:
            assignments[experiment.id] = _hashed(flow.id, experiment, subject).id
    return assignments


def _hashed(flow_id: str, experiment: Experiment, subject: str) -> Variant:
    """The variant whose cumulative-weight band holds this subject's point in [0, 1)."""
    digest = hashlib.sha256(f"{flow_id}:{experiment.id}:{subject}".encode()).digest()
    number = int.from_bytes(digest[:_HASH_BYTES], "big")
    total = sum(v.weight for v in experiment.variants)
    # floor(number / 2**64 * total), in integers: in floats a point just below 1 can round up to
    # `total` and fall off the end of the last band.
    point = number * total // _HASH_RANGE
    cumulative = 0
    for variant in experiment.variants:
        cumulative += variant.weight
        # Strictly below: a weight-0 variant's band is empty, so it is never picked.
        if point < cumulative:
            return variant
    raise AssertionError("unreachable: point < total and the weights sum to total")


def apply(flow: Flow, assignments: Mapping[str, str]) -> Flow:
    """`flow` with each assigned variant's text in place of its experiment's target text.

    The control (a variant without text) keeps the flow's text; unknown experiment or variant
    ids are ignored, as a lead may carry assignments from an experiment since ended. Returns
    `flow` itself when nothing changes.
    """
    changed = flow
    for experiment in flow.experiments:
        variant = experiment.variant(assignments.get(experiment.id, ""))
        if variant is not None and variant.text is not None:
            changed = _with_text(changed, experiment.target, variant.text)
    return changed


def promote(flow: Flow, experiment_id: str, variant_id: str) -> Flow:
    """`flow` with the variant's text written into the target and the experiment removed.

    Promoting the control keeps the flow's text. The result is validated as a whole, so a text
    the flow would reject (e.g. an ack with a placeholder other than {value}) raises here rather
    than reaching visitors.
    """
    experiment = next((e for e in flow.experiments if e.id == experiment_id), None)
    if experiment is None:
        known = ", ".join(e.id for e in flow.experiments) or "none"
        raise KeyError(f"flow '{flow.id}' has no experiment '{experiment_id}' (it has: {known})")
    variant = experiment.variant(variant_id)
    if variant is None:
        known = ", ".join(v.id for v in experiment.variants)
        raise KeyError(f"experiment '{experiment_id}' has no variant '{variant_id}' (it has: {known})")
    promoted = flow if variant.text is None else _with_text(flow, experiment.target, variant.text)
    remaining = tuple(e for e in flow.experiments if e.id != experiment_id)
    promoted = promoted.model_copy(update={"experiments": remaining})
    # model_copy skips validation; round-trip through the data a flow file would hold. by_alias for
    # routing's `in`, exclude_unset because a comparison is read from the keys that were written.
    return Flow.model_validate(promoted.model_dump(by_alias=True, exclude_unset=True))


def text_at(flow: Flow, target: str) -> str | None:
    """The text `target` points at; None for a slot's unset reask or ack (the bot's default applies).

    Raises KeyError for a target that names no text of this flow.
    """
    slot_name, field = _parse(target)
    holder: Texts | Slot = flow.texts if slot_name is None else _slot(flow, slot_name)
    text: str | None = getattr(holder, field)
    return text


def _with_text(flow: Flow, target: str, text: str) -> Flow:
    if text_at(flow, target) == text:
        return flow
    slot_name, field = _parse(target)
    if slot_name is None:
        return flow.model_copy(update={"texts": flow.texts.model_copy(update={field: text})})
    slot = _slot(flow, slot_name)
    changed = slot.model_copy(update={field: text})
    return flow.model_copy(update={"slots": tuple(changed if s is slot else s for s in flow.slots)})


def _parse(target: str) -> tuple[str | None, str]:
    """(None, text name) for texts.<name>; (slot name, question|reask|ack) for a slot's text."""
    match = TARGET.match(target)
    if match is None:
        raise KeyError(f"target '{target}': use texts.<name> or slots.<slot>.question|reask|ack")
    text_name, slot_name, field = match.groups()
    if text_name is None:
        return slot_name, field
    if text_name not in Texts.model_fields:
        raise KeyError(f"target '{target}': there is no text '{text_name}'")
    return None, text_name


def _slot(flow: Flow, name: str) -> Slot:
    try:
        return flow.slot(name)
    except KeyError:
        raise KeyError(f"flow '{flow.id}' has no slot '{name}'") from None
