"""The widget's consent step: the flow's `consent` section, the socket protocol, the store, and
the widget in a real browser (docs/protocol.md, "Consent")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect

from bot.app import create_app
from bot.clock import ManualClock
from bot.flows import FlowError, parse_flow
from tests.conftest import AUTH, ClientFactory, api_get, make_settings, settle
from tests.support.browser import Problems, chromium
from tests.support.consent_flow import CONSENT_TEXT, consent_flows
from tests.support.visitor import Visitor

ServerFactory = Callable[..., Awaitable[TestServer]]


def consent_app(tmp_path: Path, clock: ManualClock, *, required: bool) -> Any:
    flows = consent_flows(tmp_path / "flows", required=required)
    settings = make_settings(tmp_path / "data", LEADBOT_FLOWS_DIR=str(flows))
    return create_app(settings, clock=clock.now)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock) -> TestClient[Any, Any]:
    return await aiohttp_client(consent_app(tmp_path, clock, required=True))


async def messages(client: TestClient[Any, Any], conversation_id: str) -> list[tuple[str, str]]:
    conv = await api_get(client, f"/api/conversations/{conversation_id}")
    return [(m["from"], m["text"]) for m in conv["messages"]]


async def test_hello_offers_the_consent_text(client: TestClient[Any, Any]) -> None:
    visitor = await Visitor.connect(client)
    assert visitor.hello["consent"] == {"text": CONSENT_TEXT, "required": True, "button": "I agree"}
    await visitor.greeting()  # the bot greets as always: only the visitor's writing waits


async def test_a_message_before_consent_is_refused_unstored_then_sent_after_it(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    client_id = await visitor.send("We need pipeline forecasting")
    refused = await visitor.next_frame("error")
    assert (refused["code"], refused["id"]) == ("consent_required", client_id)
    assert [sender for sender, _ in await messages(client, visitor.conversation_id)] == ["bot"]

    clock.advance(90)
    await visitor.ws.send_json({"type": "consent"})
    accepted = await visitor.next_frame("consent")
    assert accepted == {"type": "consent", "given": True, "at": clock.now().isoformat()}

    # The same message, sent again as the widget does: stored once, answered once.
    await visitor.ws.send_json({"type": "message", "id": client_id, "text": "We need pipeline forecasting"})
    ack = await visitor.next_frame("ack")
    assert ack["id"] == client_id
    await visitor.next_frame("message", lambda f: f["from"] == "bot")
    await settle(client.app)
    assert ("visitor", "We need pipeline forecasting") in await messages(client, visitor.conversation_id)

    # The store keeps what was shown, word for word, when, and in which flow version.
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    expected = {
        "given": True,
        "at": clock.now().isoformat(),
        "text": CONSENT_TEXT,
        "flow": conv["flow"],
        "conversation_id": visitor.conversation_id,
    }
    assert conv["consent"] == expected
    assert conv["lead"]["consent"] == expected
    lead = await api_get(client, f"/api/leads/{conv['lead_id']}")
    assert lead["consent"] == expected


async def test_consent_is_asked_once_per_conversation(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    first = await Visitor.connect(client)
    await first.greeting()
    second = await Visitor.connect(client, token=first.token)  # another tab
    await first.ws.send_json({"type": "consent"})
    given = await first.next_frame("consent")
    assert (await second.next_frame("consent"))["at"] == given["at"]  # the other tab hears of it
    clock.advance(60)
    await second.ws.send_json({"type": "consent"})  # accepting again changes nothing
    assert (await second.next_frame("consent"))["at"] == given["at"]
    again = await Visitor.connect(client, token=first.token)
    assert "consent" not in again.hello


async def test_files_wait_for_consent_too(client: TestClient[Any, Any]) -> None:
    visitor = await Visitor.connect(client)
    form = aiohttp.FormData()
    form.add_field("file", b"plan", filename="plan.txt", content_type="text/plain")
    refused = await client.post("/ws/chat/upload", params={"token": visitor.token}, data=form)
    assert refused.status == 403
    assert (await refused.json())["error"] == "consent_required"


async def test_optional_consent_lets_the_visitor_write_meanwhile(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock
) -> None:
    client = await aiohttp_client(consent_app(tmp_path, clock, required=False))
    visitor = await Visitor.connect(client)
    assert visitor.hello["consent"]["required"] is False
    await visitor.greeting()
    await visitor.say("We need pipeline forecasting")
    await visitor.ws.send_json({"type": "consent"})
    assert (await visitor.next_frame("consent"))["given"] is True


async def test_a_flow_without_consent_asks_none(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data")))
    visitor = await Visitor.connect(client)
    assert "consent" not in visitor.hello
    await visitor.ws.send_json({"type": "consent"})
    refused = await visitor.next_frame("error")
    assert refused["code"] == "bad_frame"


@pytest.mark.parametrize(
    ("consent", "complaint"),
    [
        ({"text": "Read <a href='https://x.example'>this</a>"}, "write a link as a plain URL"),
        ({"text": "Read [our policy](https://x.example)"}, "write a link as a plain URL"),
        ({"text": "   "}, "write some text"),
        ({"text": "ok", "required": "sometimes"}, "consent.required"),
        ({"text": "ok", "colour": "red"}, "consent.colour"),
    ],
)
def test_the_flow_schema_checks_the_consent_section(consent: dict[str, Any], complaint: str) -> None:
    import yaml

    from bot.assets import flows_dir

    flow = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    with pytest.raises(FlowError, match=r"consent") as raised:
        parse_flow({**flow, "consent": consent})
    assert complaint in str(raised.value)


# -- the widget in a browser ------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest.mark.browser
async def test_the_widget_asks_for_consent_and_sends_what_waited(
    aiohttp_server: ServerFactory, tmp_path: Path, clock: ManualClock, browser: Any
) -> None:
    server = await aiohttp_server(consent_app(tmp_path, clock, required=True))
    expect.set_options(timeout=15_000)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    problems = Problems()
    problems.watch(page)
    await page.goto(str(server.make_url("/")))
    await page.get_by_role("button", name="Open chat").click()

    consent = page.get_by_role("group", name="Consent")
    await expect(consent).to_contain_text(CONSENT_TEXT)  # as text: the link is a plain URL
    await expect(consent.locator("a")).to_have_count(0)
    box = page.get_by_role("textbox", name="Your message")
    await box.fill("We need pipeline forecasting")
    await box.press("Enter")
    await expect(page.get_by_text("Please accept first")).to_be_visible()
    await expect(page.locator(".lb-visitor.lb-pending")).to_have_count(1)  # kept, not failed

    # Keyboard only: the button sits just before the composer (the file button, then the input).
    accept = page.get_by_role("button", name="I agree")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await expect(accept).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(consent).to_be_hidden()
    await expect(page.locator(".lb-pending")).to_have_count(0)
    await expect(page.locator(".lb-bot .lb-txt").last).to_contain_text("Which company are you with?")

    client_conv = await page.evaluate("JSON.parse(Object.entries(localStorage)[0][1]).cid")
    url = server.make_url(f"/api/conversations/{client_conv}")
    async with aiohttp.ClientSession() as http, http.get(url, headers=AUTH) as response:
        conv = await response.json()
    assert conv["consent"]["text"] == CONSENT_TEXT
    assert conv["consent"]["at"] == clock.now().isoformat()
    # A reload does not ask again.
    await page.reload()
    await expect(page.locator(".lb-bot .lb-txt").last).to_contain_text("Which company are you with?")
    await expect(consent).to_be_hidden()
    assert not problems, problems
