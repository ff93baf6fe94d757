"""Nurture tests: the default flow with follow-ups (or decay) added, and leadbot on a manual clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot import keys
from bot.assets import flows_dir
from bot.clock import ManualClock
from bot.flowbook import FlowBook
from bot.flows import parse_flow
from tests.conftest import api_call, api_get
from tests.support.agents import make_agent
from tests.support.fake_twilio import ClientFactory, Rig, ServerFactory, start_rig

LEAD = "+14155550100"

STEPS: list[dict[str, Any]] = [
    {"after": "1h", "text": "Still there, {name|there}?"},
    {"after": "1d", "text": "Hi {name|there}, two quick questions left."},
    {"after": "3d", "text": "Last nudge from us: reply any time."},
]


def default_flow_data(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    data.update(sections)
    return data


def flows_with(**sections: Any) -> FlowBook:
    """The default flow with these top-level sections (nurture, decay, business_hours …)."""
    flow = parse_flow(default_flow_data(**sections))
    return FlowBook({flow.id: flow}, flow.id)


async def twilio_rig(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    data_dir: Path,
    clock: ManualClock,
    **sections: Any,
) -> Rig:
    return await start_rig(
        aiohttp_server, aiohttp_client, data_dir, clock=clock.now, timers=clock, flows=flows_with(**sections)
    )


async def later(app: web.Application, clock: ManualClock, delta: timedelta) -> None:
    """Move time on and let every job that fell due run (and the bot turns they cause)."""
    clock.advance(delta.total_seconds())
    await app[keys.JOBS].idle()
    await app[keys.CONVERSATIONS].idle()


@dataclass
class Texting:
    """A lead texting leadbot (on a manual clock) from LEAD."""

    rig: Rig
    clock: ManualClock

    @property
    def sent(self) -> list[str]:
        """Every SMS body leadbot sent the lead, in order."""
        return self.rig.fake.bodies_to(LEAD)

    async def later(self, delta: timedelta) -> None:
        await later(self.rig.app, self.clock, delta)

    async def conversation(self, channel: str = "sms") -> dict[str, Any]:
        [conv] = (await api_get(self.rig.client, f"/api/conversations?channel={channel}"))["items"]
        return dict(await api_get(self.rig.client, f"/api/conversations/{conv['id']}"))

    async def agent_claims(self) -> dict[str, str]:
        """Dana, an agent, takes the conversation; her API headers."""
        conv = await self.conversation()
        _, agent = await make_agent(self.rig.app, "dana@example.com", name="Dana")
        await api_call(self.rig.client, "POST", f"/api/conversations/{conv['id']}/claim", headers=agent)
        return agent


async def texting(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    clock: ManualClock | None = None,
    **sections: Any,
) -> Texting:
    """leadbot on the default flow with `sections`, Twilio's fake, and a manual clock."""
    clock = clock or ManualClock()
    rig = await twilio_rig(aiohttp_server, aiohttp_client, tmp_path / "data", clock, **sections)
    return Texting(rig, clock)
