"""What happened in each conversation of an A/B test, read from the store for the statistics."""

from __future__ import annotations

from bot.experiments.model import Experiment
from bot.experiments.stats import Outcome
from bot.flowbook import FlowBook
from bot.handed_off import was_handed_off
from bot.qualifier.compose import first_missing
from bot.store import Store


async def outcomes(store: Store, flows: FlowBook, flow_id: str, experiment: Experiment) -> list[Outcome]:
    """One outcome per conversation of `flow_id` that saw a variant of `experiment`.

    Completed: the bot got an answer to, or a skip of, every question. Qualified: the lead
    reached the qualified status at some point. Handed off: the conversation went to people at
    some point, as the analytics funnel counts it (bot/handed_off.py).
    """
    convs = await store.conversations_in_experiment(flow_id, experiment.id)
    leads = await store.leads_by_id(list({conv.lead_id for conv in convs}))
    found = []
    for conv in convs:
        lead = leads.get(conv.lead_id)
        flow = await flows.pinned(conv.flow)
        completed = lead is not None and first_missing(flow, lead.slots, lead.skipped) is None
        qualified = lead is not None and any(change.status == "qualified" for change in lead.status_history)
        found.append(
            Outcome(
                variant=conv.variants[experiment.id],
                completed=completed,
                qualified=qualified,
                handed_off=was_handed_off(conv),
            )
        )
    return found
