"""The inbox in a real browser, next to a visitor's widget in another: handoff, claim, reply, release;
and hostile text from visitors (and others) staying text.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
Run it alone with `python -m pytest tests/test_browser_inbox.py -q`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from tests.conftest import api_get, settle
from tests.support.browser import Problems, chromium
from tests.support.fake_twilio import start_rig
from tests.support.inbox import PASSWORD

pytestmark = pytest.mark.browser

ServerFactory = Callable[..., Awaitable[TestServer]]
# A 1×1 transparent PNG, so the browser has a real picture to decode.
PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
INBOX_JS = Path(__file__).resolve().parent.parent / "bot" / "static" / "inbox.js"

# Records what must never happen on a page: script from a payload, or a CSP refusal (which would
# mean something tried to load or run that the page did not ship).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});
"""


@pytest.fixture
async def server(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    app = create_app(Settings.from_env({"LEADBOT_DATA_DIR": str(tmp_path / "data")}))
    return await aiohttp_server(app)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def add_user(app: web.Application, email: str, name: str, role: str = "agent") -> None:
    await app[keys.USERS].add(email, PASSWORD, role=role, name=name, teams=["sales"])


async def open_inbox(browser: Any, base: str, email: str, problems: Problems) -> Any:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    problems.watch(page)
    await page.add_init_script(WATCH)
    await page.goto(base + "inbox")
    await expect(page).to_have_url(re.compile(r"/login\?next=/inbox$"))  # signed out: sent to sign in
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await expect(page.locator("#connection")).to_have_text("Live")
    return page


async def open_widget(browser: Any, base: str, problems: Problems) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    problems.watch(page)
    await page.add_init_script(WATCH)
    await page.clock.install()  # time still flows; tests may jump it past the widget's typing throttle
    await page.goto(base)
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.locator(".lb-bot .lb-txt").first).to_contain_text("What are you hoping to solve")
    return page


async def say(widget: Any, text: str) -> None:
    box = widget.get_by_role("textbox", name="Your message")
    await box.fill(text)
    await box.press("Enter")
    await expect(widget.locator(".lb-visitor .lb-txt").last).to_have_text(text)


async def test_an_agent_takes_over_replies_and_hands_back_to_the_bot(
    server: TestServer, browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    await add_user(server.app, "dana@example.com", "Dana Scully")
    base = str(server.make_url("/"))
    problems = Problems()
    inbox = await open_inbox(browser, base, "dana@example.com", problems)
    await expect(inbox.locator("#waiting-empty")).to_be_visible()
    widget = await open_widget(browser, base, problems)
    bot = widget.locator(".lb-bot .lb-txt")

    await say(widget, "Pipeline reporting & forecasts")
    await expect(bot.last).to_contain_text("Which company are you with?")
    await say(widget, "Acme Corp")
    await expect(bot.last).to_contain_text("How many people are on your team?")
    await say(widget, "Can I talk to a person?")
    await expect(bot.last).to_contain_text("bringing in a person")

    # It appears in the inbox without a reload: in the waiting line, and offered to Dana.
    waiting = inbox.locator("#waiting-list .lead-card", has_text="Acme Corp")
    await expect(waiting).to_contain_text("Asked for a person")
    await expect(waiting).to_contain_text("#1 · sales")
    await expect(inbox.locator("#offers-list .offer", has_text="Acme Corp")).to_be_visible()
    await expect(inbox).to_have_title("(1) Inbox · leadbot")

    await waiting.click()
    await expect(inbox.locator("#pkg-reason")).to_have_text("The visitor asked for a person")
    await expect(inbox.locator("#pkg-summary")).to_contain_text("at Acme Corp")
    await expect(inbox.locator("#pkg-slots")).to_contain_text("Pipeline reporting & forecasts")
    await expect(inbox.locator("#conv-status")).to_have_text("Waiting · #1 in sales")
    transcript = inbox.locator("#transcript")
    await expect(transcript).to_contain_text("Can I talk to a person?")
    await expect(inbox.locator("#composer-hint")).to_have_text("Claim it to reply.")

    await inbox.locator("#act-claim").click()  # "Accept": it is offered to her
    await expect(inbox.locator("#conv-status")).to_have_text("With you")
    await expect(inbox.locator("#mine-list .lead-card", has_text="Acme Corp")).to_be_visible()
    await expect(inbox.locator("#waiting-empty")).to_be_visible()
    await expect(inbox.locator("#offers-section")).to_be_hidden()
    await expect(widget.locator(".lb-note", has_text="Dana Scully joined the conversation.")).to_be_visible()

    # Typing shows in the widget with her name; her reply arrives with it.
    reply = inbox.get_by_role("textbox", name="Reply to the visitor")
    await reply.fill("Hi! I'm Dana from sales.")
    await expect(widget.locator(".lb-typing")).to_contain_text("Dana Scully is typing")
    await reply.fill("Hi! I'm Dana from sales. What would you like to forecast?")
    await inbox.get_by_role("button", name="Send").click()
    await expect(reply).to_have_value("")
    agent_bubble = widget.locator(".lb-agent")
    await expect(agent_bubble.locator(".lb-who")).to_have_text("Dana Scully")
    await expect(agent_bubble.locator(".lb-txt")).to_have_text(
        "Hi! I'm Dana from sales. What would you like to forecast?"
    )

    # The visitor's typing and answer reach her live. (The widget says it is typing at most every
    # 3 s, and it just did: its clock jumps ahead instead of the test waiting.)
    await widget.clock.fast_forward(5_000)
    await widget.get_by_role("textbox", name="Your message").fill("Quarterly revenue")
    await expect(inbox.locator("#typing")).to_have_text("The visitor is typing…")
    await widget.get_by_role("textbox", name="Your message").press("Enter")
    await expect(transcript.locator(".msg-visitor").last).to_contain_text("Quarterly revenue")

    # A private note stays in the inbox.
    await inbox.get_by_role("tab", name="Private note").click()
    await inbox.get_by_role("textbox", name="Private note for the team").fill("Wants forecasts by region")
    await inbox.get_by_role("button", name="Add note").click()
    await expect(transcript.locator(".msg-note")).to_contain_text("Wants forecasts by region")

    # Back to the bot, which carries on with the next question it has no answer to.
    await inbox.get_by_role("button", name="Release to bot").click()
    await expect(bot.last).to_contain_text("let's pick up where we left off")
    await expect(bot.last).to_contain_text("How many people are on your team?")
    await expect(bot.filter(has_text="What are you hoping to solve")).to_have_count(1)
    await expect(bot.filter(has_text="Which company are you with?")).to_have_count(1)
    await say(widget, "about 40")
    await expect(bot.last).to_contain_text("What monthly budget")
    await expect(widget.get_by_text("Wants forecasts by region")).to_have_count(0)
    await expect(inbox.locator("#mine-empty")).to_be_visible()
    await expect(inbox.locator("#conv-status")).to_have_text("With the bot")

    for page in (inbox, widget):
        assert await page.evaluate("window.__csp") == []
    assert not problems, problems


# Each tries to run script (setting window.__pwned or calling alert) if it were ever parsed as HTML.
IMG = '<img src=x onerror="window.__pwned=1">'
SVG_BREAKOUT = '"><svg onload="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
JS_LINK = '<a href="javascript:window.__pwned=1">click me</a>'
JS_URL = "javascript:alert(document.domain)"
SVG_SCRIPT = "<svg><script>alert(1)</script></svg>"
QUOTE_BREAKOUT = '\'><iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>'
MESSAGES = [SCRIPT, JS_LINK, JS_URL, SVG_SCRIPT, QUOTE_BREAKOUT]


async def test_hostile_text_renders_as_text_everywhere_in_the_inbox(server: TestServer, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    app = server.app
    await add_user(app, "ada@example.com", "Ada", role="admin")
    await add_user(app, "mallory@example.com", IMG)  # agent names are shown to other agents
    base = str(server.make_url("/"))
    problems = Problems()

    widget = await open_widget(browser, base, problems)
    await say(widget, IMG)  # what they need
    await expect(widget.locator(".lb-bot .lb-txt").last).to_contain_text("Which company")
    await say(widget, SVG_BREAKOUT)  # their company
    await expect(widget.locator(".lb-bot .lb-txt").last).to_contain_text("How many people")
    await say(widget, "talk to a person")
    await expect(widget.locator(".lb-bot .lb-txt").last).to_contain_text("bringing in a person")
    for text in MESSAGES:  # stored while waiting for a person
        await say(widget, text)
    await expect(widget.locator(".lb-pending")).to_have_count(0)

    # The widget's name reader refuses markup, but names also come from other channels and
    # flows: the inbox must not count on anyone upstream having cleaned them.
    [conv] = await app[keys.STORE].waiting()
    lead = await app[keys.STORE].get_lead(conv.lead_id)
    lead.slots["name"] = SCRIPT
    await app[keys.STORE].save_lead(lead, contacts_changed=False)

    inbox = await open_inbox(browser, base, "ada@example.com", problems)
    card = inbox.locator("#waiting-list .lead-card")
    await expect(card.locator(".card-name")).to_have_text(SCRIPT)
    await expect(card.locator(".card-sub-text")).to_have_text(SVG_BREAKOUT)
    await card.click()
    await expect(inbox.locator("#conv-name")).to_have_text(SCRIPT)
    await expect(inbox.locator("#pkg-summary")).to_contain_text(f"{SCRIPT} at {SVG_BREAKOUT}")
    await expect(inbox.locator(".slot", has_text="need").locator(".slot-value")).to_have_text(IMG)
    await expect(inbox.locator(".slot", has_text="company").locator(".slot-value")).to_have_text(SVG_BREAKOUT)
    transcript = inbox.locator("#transcript")
    for text in [IMG, SVG_BREAKOUT, *MESSAGES]:
        await expect(transcript.locator(".msg-visitor .msg-text").filter(has_text=text).first).to_have_text(
            text
        )
    await expect(transcript.locator(".msg-visitor .msg-who").first).to_have_text(SCRIPT)

    # An admin adds a hostile canned reply; agents see its title as text and it fills the box.
    await inbox.get_by_role("button", name="Canned replies").click()
    await inbox.get_by_role("button", name="Manage canned replies…").click()
    await inbox.get_by_label("Title").fill(SVG_BREAKOUT)
    await inbox.get_by_label("Text").fill(IMG)
    await inbox.get_by_role("button", name="Add canned reply").click()
    await expect(inbox.locator("#canned-admin-list .canned-title")).to_have_text(SVG_BREAKOUT)
    await inbox.get_by_role("button", name="Done").click()
    await inbox.locator("#act-claim").click()
    await expect(inbox.locator("#conv-status")).to_have_text("With you")
    await inbox.get_by_role("button", name="Canned replies").click()
    pick = inbox.locator("#canned-list .canned-item")
    await expect(pick.locator(".canned-title")).to_have_text(SVG_BREAKOUT)
    await pick.click()
    reply = inbox.get_by_role("textbox", name="Reply to the visitor")
    await expect(reply).to_have_value(IMG)
    await inbox.get_by_role("button", name="Send").click()
    await expect(transcript.locator(".msg-agent .msg-text").last).to_have_text(IMG)
    await expect(widget.locator(".lb-agent .lb-txt").last).to_have_text(IMG)

    await inbox.get_by_role("tab", name="Private note").click()
    await inbox.get_by_role("textbox", name="Private note for the team").fill(QUOTE_BREAKOUT)
    await inbox.get_by_role("button", name="Add note").click()
    await expect(transcript.locator(".msg-note .msg-text")).to_have_text(QUOTE_BREAKOUT)

    # Another agent's name, in the transfer picker.
    await inbox.get_by_role("button", name="Transfer…").click()
    await expect(inbox.locator("#transfer-agent option").filter(has_text=IMG)).to_have_count(1)
    await inbox.get_by_role("button", name="Cancel").first.click()

    for page in (inbox, widget):
        assert await page.evaluate("typeof window.__pwned") == "undefined"
        assert await page.evaluate("window.__csp") == []
        injected = await page.evaluate(
            """() => [...document.querySelectorAll(
                 'img, svg, iframe, script:not([src]), [onerror], [onload], a[href^="javascript:"]'
               )].map((e) => e.outerHTML)"""
        )
        assert injected == []
    scripts = await inbox.evaluate("[...document.querySelectorAll('script')].map((s) => s.src)")
    assert [src.rsplit("/", 1)[-1] for src in scripts] == ["api.js", "inbox.js"]  # nothing injected
    assert not problems, problems


def test_the_inbox_script_never_parses_text_as_html() -> None:
    script = INBOX_JS.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "javascript:" not in script


async def test_an_mms_attachment_is_visible_in_the_inbox(
    aiohttp_server: ServerFactory, aiohttp_client: Any, tmp_path: Path, browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    # No public URL: the browser's session cookie works over the test server's plain http.
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_PUBLIC_URL="")
    picture = rig.fake.add_media("image/png", PNG_PIXEL)
    await rig.twilio.sms(
        "+14155550100", "Our storefront", NumMedia="1", MediaUrl0=picture, MediaContentType0="image/png"
    )
    await settle(rig.app)
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    await add_user(rig.app, "dana@example.com", "Dana Scully")
    base = str(rig.client.make_url("/"))
    problems = Problems()
    inbox = await open_inbox(browser, base, "dana@example.com", problems)
    await inbox.goto(f"{base}inbox#{conv['id']}")
    await inbox.reload()

    message = inbox.locator("#transcript .msg-visitor", has_text="Our storefront")
    thumb = message.locator("img.msg-thumb")
    await expect(thumb).to_be_visible()
    assert (await thumb.get_attribute("alt") or "").endswith(".png")
    assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 1  # the bytes loaded

    # A file arriving while the conversation is open shows up without a reload, as a download.
    pdf = rig.fake.add_media("application/pdf", b"%PDF-1.4\n")
    await rig.twilio.sms(
        "+14155550100", "And the quote", NumMedia="1", MediaUrl0=pdf, MediaContentType0="application/pdf"
    )
    link = inbox.locator("#transcript .msg-visitor", has_text="And the quote").locator("a.msg-file")
    await expect(link).to_contain_text(".pdf")
    assert await link.get_attribute("download")
    await settle(rig.app)

    assert await inbox.evaluate("window.__csp") == []
    assert not problems, problems


async def test_an_agent_attaches_a_file_from_the_composer(
    aiohttp_server: ServerFactory, aiohttp_client: Any, tmp_path: Path, browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_PUBLIC_URL="")
    await rig.twilio.sms("+14155550100", "Can you send the plan?")
    await settle(rig.app)
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    await add_user(rig.app, "dana@example.com", "Dana Scully")
    base = str(rig.client.make_url("/"))
    problems = Problems()
    inbox = await open_inbox(browser, base, "dana@example.com", problems)
    await inbox.goto(f"{base}inbox#{conv['id']}")
    await inbox.reload()
    await inbox.locator("#act-claim").click()
    await expect(inbox.locator("#conv-status")).to_have_text("With you")

    await inbox.locator("#composer-files").set_input_files(
        {"name": "plan <b>.png", "mimeType": "image/png", "buffer": PNG_PIXEL}
    )
    await expect(inbox.locator("#composer-file-names")).to_have_text("plan <b>.png")
    await inbox.get_by_role("button", name="Send").click()  # a file alone: no text needed
    await expect(inbox.locator("#composer-file-names")).to_have_text("")

    thumb = inbox.locator("#transcript .msg-agent img.msg-thumb")
    await expect(thumb).to_be_visible()
    assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 1
    await settle(rig.app)
    stored = await api_get(rig.client, f"/api/conversations/{conv['id']}")
    [mine] = [m for m in stored["messages"] if m["from"] == "agent"]
    assert [a["filename"] for a in mine["attachments"]] == ["plan _b_.png"]
    assert await inbox.evaluate("window.__csp") == []
    assert not problems, problems
