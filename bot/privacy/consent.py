"""The widget's consent step (docs/protocol.md, "Consent"; docs/privacy.md).

A flow with a `consent` section asks the visitor to accept its text. Until they do, `hello`
carries the text (`consent_offer`); a `consent` frame records the acceptance
(`give_consent`): on the conversation and on its lead, with the exact text shown, the time and
the flow version. When the flow says `required: true`, visitor messages and files are refused
with `consent_required` until then (`consent_missing`), and nothing of them is stored.
"""

from __future__ import annotations

from typing import Any, Final

from bot.bus import ConversationChanged
from bot.conversations import Conversations
from bot.frames import FrameError
from bot.models import Consent, Conversation
from bot.store import NotFound

CONSENT_REQUIRED: Final = "consent_required"
CONSENT_REQUIRED_TEXT: Final = "accept the consent text before writing; then send this message again"
# The conversation was erased while the socket was open (bot/privacy/erase.py).
REMOVED: Final = "not_found"
REMOVED_TEXT: Final = "this conversation was removed"


async def consent_offer(convs: Conversations, conv: Conversation) -> dict[str, Any] | None:
    """The `consent` part of `hello`: None when the flow asks none or the visitor accepted."""
    if conv.consent is not None:
        return None
    step = (await convs.flows.pinned(conv.flow)).consent
    if step is None:
        return None
    return {"text": step.text, "required": step.required, "button": step.button}


async def consent_missing(convs: Conversations, conv: Conversation) -> bool:
    """True while the conversation's flow requires consent that has not been given."""
    if conv.consent is not None:
        return False
    step = (await convs.flows.pinned(conv.flow)).consent
    return step is not None and step.required


def consent_frame(consent: Consent) -> dict[str, Any]:
    return {"type": "consent", "given": consent.given, "at": consent.at.isoformat()}


async def give_consent(convs: Conversations, conv: Conversation) -> Conversation:
    """Record that the visitor accepted the consent text `hello` showed them (idempotent: the
    first acceptance stands). Returns the conversation with its consent."""
    step = (await convs.flows.pinned(conv.flow)).consent
    if step is None:
        raise FrameError("bad_frame", "this conversation's flow asks for no consent")
    store = convs.store
    consent = Consent(at=convs.clock(), text=step.text, flow=conv.flow, conversation_id=conv.id)
    recorded = {"consent": consent.model_dump()}
    try:
        after = await store.transition(conv.id, expect={"consent": None}, changes=recorded)
        if after is None:  # given already (another tab): the first acceptance stands
            return await store.get_conversation(conv.id)
    except NotFound:
        raise FrameError(REMOVED, REMOVED_TEXT) from None
    # Bot turns read and write the whole lead: holding the conversation's turn lock keeps a turn
    # in flight from writing back the lead as it was before this consent.
    async with convs.turn_locks.hold(conv.id):
        await store.leads.update_one({"_id": after.lead_id}, {"$set": recorded})
    convs.bus.publish(ConversationChanged(after))
    return after


async def require_consent(convs: Conversations, conv: Conversation, client_id: str | None) -> Conversation:
    """`conv` (re-read when it looks unconsented: another tab may have accepted a moment ago),
    or FrameError `consent_required` while the flow requires consent that was not given."""
    if not await consent_missing(convs, conv):
        return conv
    try:
        fresh = await convs.store.get_conversation(conv.id)
    except NotFound:
        raise FrameError(REMOVED, REMOVED_TEXT, client_id) from None
    if await consent_missing(convs, fresh):
        raise FrameError(CONSENT_REQUIRED, CONSENT_REQUIRED_TEXT, client_id)
    return fresh


def keep_consent(before: Conversation, after: Conversation) -> Conversation:
    """Consent is never withdrawn by a later change: an event carrying a copy of the
    conversation read before the consent was stored must not make the socket forget it."""
    if before.consent is not None and after.consent is None:
        return after.model_copy(update={"consent": before.consent})
    return after
