"""Score decay for silent leads (docs/nurture.md), on a manual clock through the real job queue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import keys
from bot.store import StoreUnavailable
from tests.conftest import api_call, api_get
from tests.support.fake_twilio import ClientFactory, ServerFactory
from tests.support.nurture import LEAD, Texting, texting

DAY = timedelta(days=1)
DECAY = {"after": "14d", "every": "7d", "points": 10, "floor": 20}
# budget ≥ 5000: +30, timeline immediate: +25, phone known (the number texting): +5
OPENING = "We need a CRM, budget $6000 a month, we want to start ASAP"


async def the_lead(lead: Texting) -> dict[str, Any]:
    return dict((await lead.conversation())["lead"])


async def a_lead_scoring_60(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> Texting:
    lead = await texting(aiohttp_server, aiohttp_client, tmp_path, decay=DECAY)
    await lead.rig.text(LEAD, OPENING)
    scored = await the_lead(lead)
    assert (scored["score"], scored["grade"], scored["temperature"], scored["score_history"]) == (
        60,
        "B",
        "warm",
        [],
    )
    return lead


async def test_a_silent_lead_loses_points_with_the_reason_in_its_history_down_to_the_floor(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await a_lead_scoring_60(aiohttp_server, aiohttp_client, tmp_path)

    await lead.later(14 * DAY - timedelta(minutes=1))
    assert (await the_lead(lead))["score"] == 60
    await lead.later(timedelta(minutes=1))
    scored = await the_lead(lead)
    assert (scored["score"], scored["grade"], scored["temperature"]) == (50, "C", "warm")
    [change] = scored["score_history"]
    assert (change["score"], change["reason"]) == (50, "score 60 → 50: 14 days without a reply")
    assert change["at"] == lead.clock.now().isoformat()

    await lead.later(7 * DAY)
    scored = await the_lead(lead)
    assert (scored["score"], scored["grade"], scored["temperature"]) == (40, "C", "cold")
    await lead.later(14 * DAY)
    await lead.later(60 * DAY)  # at the floor it stops
    scored = await the_lead(lead)
    assert scored["score"] == 20 and scored["grade"] == "D"
    assert [c["reason"] for c in scored["score_history"]] == [
        "score 60 → 50: 14 days without a reply",
        "score 50 → 40: 21 days without a reply",
        "score 40 → 30: 28 days without a reply",
        "score 30 → 20: 35 days without a reply",
    ]
    listed = (await api_get(lead.rig.client, "/api/leads"))["items"]
    assert [item["score"] for item in listed] == [20]


async def test_the_lead_writing_again_brings_the_score_back_and_restarts_the_silence(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await a_lead_scoring_60(aiohttp_server, aiohttp_client, tmp_path)
    await lead.agent_claims()  # so no bot turn re-scores the lead: decay itself gives the points back
    await lead.later(14 * DAY)
    assert (await the_lead(lead))["score"] == 50

    await lead.rig.twilio.sms(LEAD, "Sorry, I was away. Still interested!")
    await lead.later(timedelta(0))
    scored = await the_lead(lead)
    assert (scored["score"], scored["grade"], scored["temperature"]) == (60, "B", "warm")
    assert scored["score_history"][-1]["reason"] == "score 50 → 60: the lead wrote again"

    await lead.later(7 * DAY)  # the old silence's next loss would be due: cancelled
    assert (await the_lead(lead))["score"] == 60
    await lead.later(7 * DAY)  # 14 days after the lead's last message
    scored = await the_lead(lead)
    assert scored["score"] == 50
    assert scored["score_history"][-1]["reason"] == "score 60 → 50: 14 days without a reply"


async def test_a_lead_with_an_outcome_no_longer_decays(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await a_lead_scoring_60(aiohttp_server, aiohttp_client, tmp_path)
    agent = await lead.agent_claims()
    conv_id = (await lead.conversation())["id"]
    close = {"outcome": "converted", "value": 1200}
    await api_call(lead.rig.client, "POST", f"/api/conversations/{conv_id}/close", close, headers=agent)

    await lead.later(60 * DAY)
    scored = await the_lead(lead)
    assert (scored["status"], scored["score"], scored["score_history"]) == ("converted", 60, [])


async def test_a_loss_whose_run_failed_is_made_when_the_job_runs_again_and_decay_goes_on(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    lead = await a_lead_scoring_60(aiohttp_server, aiohttp_client, tmp_path)
    store = lead.rig.app[keys.STORE]
    change_score = store.change_score
    failures = [StoreUnavailable("the store went away as the score was written")]

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        return await change_score(*args, **kwargs)

    store.change_score = flaky  # type: ignore[method-assign]
    await lead.later(14 * DAY)
    assert not failures and (await the_lead(lead))["score"] == 60  # that run failed

    await lead.later(timedelta(minutes=2))  # the job's retry
    assert (await the_lead(lead))["score"] == 50
    await lead.later(7 * DAY)
    scored = await the_lead(lead)
    assert scored["score"] == 40
    assert [c["reason"] for c in scored["score_history"]] == [
        "score 60 → 50: 14 days without a reply",
        "score 50 → 40: 21 days without a reply",
    ]
