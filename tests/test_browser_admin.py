"""The admins' flow editor in a real browser: edit, validate, preview, publish, roll back, import.

The acceptance test of the flow editor: a conversation that started before a change keeps the
version it started on, while new conversations get the published change.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
Run it alone with `python -m pytest tests/test_browser_admin.py -q`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.conftest import AUTH, api_get
from tests.support.browser import Problems, chromium
from tests.support.inbox import PASSWORD, add_user
from tests.support.visitor import Visitor

pytestmark = pytest.mark.browser

OLD_GREETING = "Hi! I'm the leadbot assistant."
NEW_GREETING = "Hello from the new flow! Two minutes of questions and you're through to the right person."
OLD_COMPANY = "Which company are you with?"
NEW_COMPANY = "Which organisation do you work for?"
NEED = "We need better lead routing"
WEBINAR_FLOW = """\
id: webinar
name: Webinar sign-ups
texts:
  greeting: "Thanks for joining the webinar!"
slots:
  - name: email
    type: email
    required: true
    question: "Where should we send the recording?"
"""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def open_as_admin(client: TestClient[Any, Any], browser: Any, path: str, problems: Problems) -> Any:
    """Ada, an admin, signs in on her way to `path` (a flow editor waits until its flow is loaded)."""
    await add_user(client, "ada@example.com", name="Ada Lovelace", role="admin")
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await context.new_page()
    problems.watch(page)
    await page.goto(str(client.make_url(path)))
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    if path.startswith("/admin/flows/"):
        await expect(page.locator("#flow-loading")).to_be_hidden()
        await expect(page.locator("#sec-slots .list-item").first).to_be_visible()
    return page


def question_card(page: Any, slot: str) -> Any:
    """The card of one question (slot) in the Questions section."""
    return page.locator("#sec-slots .list-item").filter(
        has=page.locator(".slot-name", has_text=re.compile(f"^{slot}$"))
    )


def fact(panel: Any, name: str) -> Any:
    return panel.locator(".fact").filter(has=panel.page.locator("dt", has_text=re.compile(f"^{name}$")))


async def test_a_published_change_reaches_new_conversations_while_running_ones_keep_theirs(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    # A visitor starts a conversation before anything changes: it is pinned to version 1.
    early = await Visitor.connect(client)
    assert (await early.greeting())["text"].startswith(OLD_GREETING)

    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/default", problems)
    await expect(page.locator("#flow-state")).to_contain_text("Live: version 1")

    greeting = page.get_by_role("textbox", name="Greeting", exact=True)
    await expect(greeting).to_have_value(re.compile("^" + re.escape(OLD_GREETING)))
    await greeting.fill(NEW_GREETING)
    await expect(page.locator("#dirty")).to_be_visible()

    # The second question: emptied, the problem shows next to it and publishing is blocked.
    company = question_card(page, "company")
    await company.locator(".disclosure").click()
    question = company.get_by_role("textbox", name="Question", exact=True)
    await expect(question).to_have_value(OLD_COMPANY)
    await question.fill("")
    problem = company.locator('[data-path="slots.1.question"] .problem')
    await expect(problem).to_have_text("Field required")
    await expect(question).to_have_attribute("aria-invalid", "true")
    problem_id = await problem.get_attribute("id")
    await expect(question).to_have_attribute("aria-describedby", re.compile(rf"\b{problem_id}\b"))
    await expect(page.locator("#problems-list")).to_contain_text("slots.1.question")
    await expect(company.locator(".problem-badge")).to_have_text("1 problem")
    await expect(page.get_by_role("button", name="Publish…")).to_be_disabled()
    await question.fill(NEW_COMPANY)
    await expect(problem).to_have_count(0)
    await expect(question).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#problems")).to_be_hidden()
    await expect(page.get_by_role("button", name="Publish…")).to_be_enabled()

    # The preview runs the flow as it is in the form, and shows what the bot extracted.
    await page.get_by_role("button", name="Start test chat").click()
    bot = page.locator("#preview-chat .bubble-bot .bubble-text")
    await expect(bot.first).to_contain_text(NEW_GREETING)
    composer = page.get_by_role("textbox", name="Write as the visitor")
    await composer.fill(NEED)
    await composer.press("Enter")
    await expect(page.locator("#preview-chat .bubble-visitor").last).to_have_text(f"Visitor: {NEED}")
    await expect(bot.nth(1)).to_contain_text(NEW_COMPANY)
    answers = page.locator("#preview-slots")
    await expect(fact(answers, "need")).to_contain_text(NEED)
    await expect(fact(answers, "company")).to_contain_text("–")
    await composer.fill("Acme Corp, about 60 people")
    await composer.press("Enter")
    await expect(fact(answers, "team_size")).to_contain_text("60")
    await expect(fact(page.locator("#preview-score"), "Score")).to_contain_text("15")
    await expect(page.locator("#preview-reasons")).to_contain_text("team_size ≥ 50: +15")
    # The preview stored nothing: the early visitor's is still the only conversation.
    assert len((await api_get(client, "/api/conversations"))["items"]) == 1

    # Save, then publish with a note.
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#notice")).to_have_text("Draft saved.")
    await expect(page.locator("#changes-body")).to_contain_text("greeting")
    await expect(page.locator("#changes-body")).to_contain_text("company")
    await expect(page.locator("#dirty")).to_be_hidden()
    await page.get_by_role("button", name="Publish…").click()
    dialog = page.get_by_role("dialog", name="Publish the draft")
    await dialog.get_by_label("Note").fill("A warmer greeting")
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect(page.locator("#notice")).to_contain_text("Published version 2")
    await expect(page.locator("#flow-state")).to_contain_text("Live: version 2")
    await expect(page.locator("#flow-state")).to_contain_text("No draft")

    # A new conversation, in the widget on the demo page, starts on version 2.
    widget_context = await browser.new_context(viewport={"width": 1280, "height": 800})
    widget = await widget_context.new_page()
    problems.watch(widget)
    await widget.goto(str(client.make_url("/")))
    await widget.get_by_role("button", name="Open chat").click()
    await expect(widget.locator(".lb-bot .lb-txt").first).to_contain_text(NEW_GREETING)

    # The conversation started before keeps version 1: the old wording of the company question.
    reply = await early.say(NEED)
    assert OLD_COMPANY in reply["text"], reply
    assert NEW_COMPANY not in reply["text"]
    assert problems == []


async def test_a_rollback_from_the_versions_tab_publishes_a_new_version(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    live = (await api_get(client, "/api/flows/default"))["live"]
    second = {**live, "texts": {**live["texts"], "greeting": "Version two says hello."}}
    saved = await client.put("/api/flows/default/draft", json=second, headers=AUTH)
    assert saved.status == 200, await saved.text()
    published = await client.post("/api/flows/default/publish", json={"note": "v2"}, headers=AUTH)
    assert (await published.json())["version"] == 2

    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/default", problems)
    await expect(page.get_by_role("textbox", name="Greeting", exact=True)).to_have_value(
        "Version two says hello."
    )
    await page.get_by_role("tab", name="Versions").click()
    versions = page.locator("#versions-list .version")
    await expect(versions).to_have_count(2)
    await expect(versions.first).to_contain_text("Live")

    # The diff between the two versions, as a list of lines.
    await page.get_by_role("combobox", name="From").select_option("1")
    await page.get_by_role("combobox", name="To").select_option("2")
    await page.get_by_role("button", name="Compare").click()
    await expect(page.locator("#diff-result li")).to_contain_text(["greeting"])

    await page.get_by_role("button", name="Roll back to version 1").click()
    dialog = page.get_by_role("dialog", name="Roll back to version 1?")
    await dialog.get_by_role("button", name="Roll back").click()
    await expect(page.locator("#notice")).to_contain_text("Published version 3, a copy of version 1.")
    await expect(versions).to_have_count(3)
    await expect(versions.first.get_by_role("heading")).to_have_text("Version 3")
    await expect(versions.first).to_contain_text("Rollback")
    await expect(versions.first).to_contain_text("Live")
    await expect(page.locator("#flow-state")).to_contain_text("Live: version 3")
    await page.get_by_role("tab", name="Edit").click()
    await expect(page.get_by_role("textbox", name="Greeting", exact=True)).to_have_value(
        re.compile("^" + re.escape(OLD_GREETING))
    )

    flow = await api_get(client, "/api/flows/default")
    assert flow["live_version"] == 3
    assert flow["live"]["texts"]["greeting"].startswith(OLD_GREETING)
    visitor = await Visitor.connect(client)
    assert (await visitor.greeting())["text"].startswith(OLD_GREETING)
    assert problems == []


async def test_an_imported_flow_opens_as_a_draft_and_lands_in_the_audit_log(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows", problems)
    default_row = page.locator("#flows-body tr", has_text="B2B qualification")
    await expect(default_row).to_contain_text("v1")

    await page.locator("#import-file").set_input_files(
        files=[{"name": "webinar.yaml", "mimeType": "text/yaml", "buffer": WEBINAR_FLOW.encode()}]
    )
    await expect(page).to_have_url(re.compile(r"/admin/flows/webinar$"))
    await expect(page.locator("#notice")).to_contain_text("Imported as the draft")
    await expect(page.locator("#flow-title")).to_have_text("Webinar sign-ups")
    await expect(page.locator("#flow-state")).to_contain_text("Not published yet")
    await expect(page.get_by_role("textbox", name="Greeting", exact=True)).to_have_value(
        "Thanks for joining the webinar!"
    )
    # Left empty, a text shows the default it falls back to.
    await page.get_by_role("button", name=re.compile("^Other texts")).click()
    thanks = page.get_by_role("textbox", name="Thanks (optional)", exact=True)
    await expect(thanks).to_have_value("")
    await expect(thanks).to_have_attribute("placeholder", "Thanks!")

    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Flows").click()
    webinar_row = page.locator("#flows-body tr", has_text="Webinar sign-ups")
    await expect(webinar_row).to_contain_text("Not published")
    await expect(webinar_row).to_contain_text("Draft")

    await nav.get_by_role("link", name="Audit").click()
    await expect(page.locator("#audit-body tr").first).to_be_visible()
    await page.get_by_label("Flow").select_option("webinar")
    rows = page.locator("#audit-body tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Imported")
    await expect(rows.first).to_contain_text("ada@example.com")
    assert problems == []


FULL_FLOW = """\
id: everything
name: Every section
region: DE
currency: EUR
texts:
  greeting: "Hallo!"
  thanks: "Danke!"
slots:
  - {name: need, type: text, question: "What do you need?", ack: "Noted.", label: the need}
  - {name: plan, type: choice, question: "Which plan?", choices: [Basic, Pro], required: true}
  - {name: budget, type: money, question: "Budget?", reask: "An amount, please."}
  - {name: email, type: email, question: "Email?", input: email}
scoring:
  qualified_at: 60
  rules:
    - {slot: budget, op: between, value: [1000, 4999], points: 20}
    - {slot: plan, op: in, value: [Pro], points: 30}
    - {slot: email, op: known, points: 5}
handoff:
  max_not_understood: 2
  phrases: [pricing, book a demo]
  score_at_least: 90
routing:
  default_team: sales
  rules:
    - {when: {score: {gte: 80}}, team: enterprise}
    - {when: {slot: plan, eq: Pro}, team: pro-desk}
business_hours:
  timezone: Europe/Berlin
  week: {mon: ["09:00", "17:00"], fri: ["09:00", "15:00"]}
whatsapp:
  template_sid: HX0123456789abcdef0123456789abcdef
  variables: {"1": "{need|your project}"}
consent:
  text: "We keep this chat to answer you: https://example.com/privacy"
  required: false
experiments:
  - id: hello
    target: texts.greeting
    metric: completed
    variants: [{id: a}, {id: b, weight: 3, text: "Hi there!"}]
llm:
  compose: false
  model: gpt-4o
  max_output_tokens: 120
  tone: brief
  knowledge: "We integrate with HubSpot."
  prices: "From 49 EUR a month."
  allowed_urls: [example.com]
"""


async def test_the_form_reads_back_every_section_it_loaded(
    client: TestClient[Any, Any], browser: Any
) -> None:
    """Loading a flow into the editor and reading the form gives the same body: nothing the
    form shows is lost, and nothing it has no field for is dropped on save."""
    response = await client.post("/api/flows/import", data=FULL_FLOW.encode(), headers=AUTH)
    assert (await response.json())["valid"] is True
    assert (await client.post("/api/flows/everything/publish", headers=AUTH)).status == 200
    stored = (await api_get(client, "/api/flows/everything"))["live"]

    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/everything", problems)
    async with page.expect_request(lambda r: r.url.endswith("/preview")) as sent:
        await page.get_by_role("button", name="Start test chat").click()
    body = (await sent.value).post_data_json
    assert body["flow"] == stored
    assert problems == []
