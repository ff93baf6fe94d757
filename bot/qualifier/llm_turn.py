"""LLM mode inside one bot turn: propose slot values, word the reply, stay within the budget.

The model proposes and code decides. A proposed value becomes a fact only if the offline
extractor, reading it as an answer to that slot, accepts it (same normalisers, same validators).
A reply the model writes goes out only if the output checks pass, streamed through a gate that
holds back anything still able to turn into what the checks block. Any failure — time, errors,
refusals, blocked output — leaves the offline result in place: the visitor always gets a reply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.flows import Flow
from bot.llm.budget import Attempt, Budget
from bot.llm.client import ChatMessage, LlmClient, StreamDone, TextDelta, ToolSpec
from bot.llm.failure import LlmFailure
from bot.llm.findings import price_promises
from bot.llm.gate import ReleaseGate, ReplyBlocked
from bot.llm.guard import check_reply
from bot.llm.usage import Usage
from bot.qualifier import prompts
from bot.qualifier.extract import Extraction, Fact, extract

log = logging.getLogger(__name__)

# Called with each piece of the reply that may be shown now; reset=True clears what was shown
# (a failed attempt is being retried, or the offline reply replaces it).
DeltaSink = Callable[[str, bool], Awaitable[None]]


@dataclass
class LlmTurn:
    """What LLM mode needs for one turn, and what it did (for the conversation's record)."""

    client: LlmClient
    budget: Budget
    history: Sequence[ChatMessage]  # the conversation so far, ending with the visitor's message
    lead_contacts: set[str]
    max_chars: int
    max_output_tokens: int
    on_delta: DeltaSink | None = None
    # Outcomes for the record: "extracted", "extract_failed:<kind>", "written", "write_failed:<kind>",
    # "blocked", "proposal_rejected:<slot>".
    events: list[str] = field(default_factory=list)

    # -- understanding -------------------------------------------------------------------

    async def propose(self, flow: Flow, x: Extraction, *, asked: str | None, today: date) -> Extraction:
        """`x` plus the model's values for slots the offline extractor did not find."""
        tool = ToolSpec(
            "record", "Record what the visitor's latest message states.", prompts.extraction_tool(flow)
        )
        system = prompts.extraction_system(flow, asked)

        async def call(deadline: float) -> Any:
            return await self.client.extract(
                system=system, messages=self.history, tool=tool, deadline=deadline
            )

        # At most half the turn, retries included: the reply needs time too. The half shares the
        # turn's record, so its attempts are counted with the others.
        half = dataclasses.replace(self.budget, deadline=self.budget.clock() + self.budget.remaining / 2)
        try:
            proposal = await half.run(call)
        except LlmFailure as failure:
            self.events.append(f"extract_failed:{failure.kind}")
            return x
        self.events.append("extracted")
        found = dict(x.facts)
        for name, raw in proposal.args.items():
            if name in found or not isinstance(raw, str) or not raw.strip():
                continue
            fact = self._checked(flow, name, raw, today)
            if fact is None:
                self.events.append(f"proposal_rejected:{name}")
            else:
                found[name] = fact
        return dataclasses.replace(x, facts=found) if found != x.facts else x

    @staticmethod
    def _checked(flow: Flow, name: str, raw: str, today: date) -> Fact | None:
        """The fact the offline extractor takes from `raw` as the answer to slot `name`, if any."""
        try:
            flow.slot(name)
        except KeyError:
            return None
        return extract(raw[:500], flow, expecting=name, last_answered=None, today=today).facts.get(name)

    # -- replying ------------------------------------------------------------------------

    async def write(self, flow: Flow, plan: str, *, facts: Mapping[str, Any], may_answer: bool) -> str | None:
        """The reply in the model's words, checked; None to send `plan` as it is."""
        system = prompts.reply_system(
            flow, plan=plan, facts=facts, max_chars=self.max_chars, may_answer=may_answer
        )
        allowed = set(price_promises(plan))  # amounts the flow itself says (an acknowledged budget)
        # The lead's own contacts include any given in this very turn ("Thanks! I'll use …").
        contacts = self.lead_contacts | {
            str(facts[slot.name])
            for slot in flow.slots
            if slot.type in ("email", "phone") and facts.get(slot.name)
        }

        def check(text: str) -> list[str]:
            problems = check_reply(
                text,
                lead_contacts=contacts,
                allowed_urls=flow.llm.allowed_urls,
                prices_allowed=bool(flow.llm.prices),
                max_chars=self.max_chars,
                region=flow.region,
            )
            return [p for p in problems if not (p.startswith("price: ") and p[len("price: ") :] in allowed)]

        shown = False

        async def attempt(deadline: float) -> StreamDone:
            nonlocal shown
            if shown:
                await self._emit("", reset=True)  # a retry starts over
                shown = False
            gate = ReleaseGate(check)
            started, usage = self.budget.clock(), Usage()
            events = self.client.stream(
                system=system, messages=self.history, deadline=deadline, max_tokens=self.max_output_tokens
            )
            try:
                async with contextlib.aclosing(events):
                    async for event in events:
                        if isinstance(event, TextDelta):
                            shown |= await self._emit(gate.feed(event.text))
                            continue
                        usage = event.usage
                        if event.truncated:  # billed all the same
                            raise LlmFailure(
                                "malformed", "the reply was cut off at the token limit", usage=usage
                            )
                        shown |= await self._emit(gate.finish(event.text))
                        return event
            except ReplyBlocked:
                # The call worked and is billed (its tokens are known if the stream got to its
                # end); code refused the text. The budget lets this pass unrecorded: count it here.
                self.budget.record.attempts.append(Attempt(None, self.budget.clock() - started, usage))
                raise
            raise LlmFailure("malformed", "the stream ended without its final event")

        try:
            done = await self.budget.run(attempt)
        except ReplyBlocked as blocked:
            log.warning("reply blocked by the output checks: %s", "; ".join(blocked.problems))
            self.events.append("blocked")
        except LlmFailure as failure:
            self.events.append(f"write_failed:{failure.kind}")
        else:
            self.events.append("written")
            return done.text.strip()
        if shown:
            await self._emit("", reset=True)
        return None

    async def _emit(self, text: str, *, reset: bool = False) -> bool:
        if self.on_delta is not None and (text or reset):
            await self.on_delta(text, reset)
        return bool(text)
