"""Analytics (`/admin/analytics`, `GET /api/analytics`, the CSV export) on a known data set.

Every number the API answers is checked against a recount in plain Python over the seeded
records (tests/support/analytics_seed.py), on the embedded store and through the MongoDB wire
stand-in (and a real MongoDB when MONGODB_URI is set): the pipelines must run on both.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.analytics.percentiles import nearest_rank
from bot.analytics.report import build_report
from bot.analytics.svg import Bar, Group, bar_chart, funnel_chart, grouped_bar_chart, histogram
from bot.analytics.tables import all_tables
from bot.analytics.window import Window
from bot.app import create_app
from bot.clock import ManualClock
from tests.conftest import AUTH, BACKENDS, ClientFactory, api_get, make_settings, settle
from tests.support.analytics_seed import (
    END,
    FORMULA_SOURCE,
    FROM,
    SCRIPT_SOURCE,
    START,
    TO,
    Data,
    expected,
    expected_attribution,
    plant,
    seed,
)
from tests.support.inbox import Agent, add_user, hand_off

# The app's clock: "today" is 2024-04-15, so the default range is 2024-03-17 … 2024-04-15.
NOW = datetime(2024, 4, 15, 12, tzinfo=UTC)
RANGE = f"from={FROM}&to={TO}"
TABLES = [
    "funnel",
    "funnel_by_channel",
    "funnel_by_source",
    "funnel_by_flow_version",
    "funnel_by_variant",
    "dropoff",
    "response_times",
    "handoff_outcomes",
    "lead_scores",
    "attribution",
]
# The columns that name a row of each table.
ROW_KEYS = {
    "funnel": ("stage",),
    "funnel_by_channel": ("channel",),
    "funnel_by_source": ("source",),
    "funnel_by_flow_version": ("flow", "version"),
    "funnel_by_variant": ("experiment", "variant"),
    "dropoff": ("question",),
    "response_times": ("measure",),
    "handoff_outcomes": ("outcome",),
    "lead_scores": ("score_from",),
}


def _backend_env(request: pytest.FixtureRequest) -> dict[str, str]:
    database = f"analytics_{secrets.token_hex(4)}"
    if request.param == "wire":
        return {"MONGODB_URI": request.getfixturevalue("wire_server").uri, "LEADBOT_DATABASE": database}
    if request.param == "mongodb":
        return {"MONGODB_URI": os.environ["MONGODB_URI"], "LEADBOT_DATABASE": database}
    return {}


@pytest.fixture(params=BACKENDS)
async def client(
    request: pytest.FixtureRequest, aiohttp_client: ClientFactory, tmp_path: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    env = _backend_env(request)
    app = create_app(make_settings(tmp_path / "data", **env), clock=lambda: NOW)
    test_client = await aiohttp_client(app)
    yield test_client
    if env:
        await app[keys.STORE]._db.client.drop_database(env["LEADBOT_DATABASE"])


@pytest.fixture
async def data(client: TestClient[Any, Any]) -> Data:
    planted = seed()
    await plant(client.app[keys.STORE], planted)
    return planted


def keyed(table: str, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in ROW_KEYS[table]): row for row in rows}


def assert_same_rows(table: str, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    got_rows, want_rows = keyed(table, got), keyed(table, want)
    assert set(got_rows) == set(want_rows), table
    for key, want_row in want_rows.items():
        assert got_rows[key].keys() == want_row.keys(), (table, key)
        for column, value in want_row.items():
            if isinstance(value, float):
                assert got_rows[key][column] == pytest.approx(value), (table, key, column)
            else:
                assert got_rows[key][column] == value, (table, key, column)


async def test_every_table_matches_an_independent_count(client: TestClient[Any, Any], data: Data) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}")
    assert body["window"] == {"from": START.isoformat(), "to": END.isoformat(), "channel": None, "flow": None}
    want = expected(data, START, END)
    for table in ROW_KEYS:
        assert_same_rows(table, body[table], want[table])
    # the data set exercises every measure: none of these is trivially empty
    assert [row["conversations"] for row in body["funnel"]] == [11, 9, 3, 6, 2]
    assert {row["measure"]: row["count"] for row in body["response_times"]} == {
        "bot_response": 15,
        "queue_wait": 4,  # not c06: taken, then back in the queue
        "first_agent_reply": 4,
    }


@pytest.mark.parametrize("chunk_size", [1, 4])
async def test_messages_read_a_chunk_of_conversations_at_a_time_give_the_same_numbers(
    client: TestClient[Any, Any], data: Data, chunk_size: int
) -> None:
    """The drop-off and the timings read the cohort's messages a chunk of its conversations at a
    time; with chunks smaller than the cohort (11 conversations: 11 chunks of one, or 4 + 4 + 3)
    the chunks' numbers add up to the same report."""
    store = client.app[keys.STORE]
    report = await build_report(store, Window(start=START, end=END), chunk_size=chunk_size)
    assert report.cohort.total.conversations == 11
    got = {name: table.records() for name, table in all_tables(report).items()}
    want = expected(data, START, END)
    for table in ROW_KEYS:
        assert_same_rows(table, got[table], want[table])
    assert sum(row.dropped for row in report.dropoff) > 0  # the chunks' counts are not empty
    assert [timing.count for timing in report.timings] == [15, 4, 4]
    with pytest.raises(ValueError, match="at least one conversation"):
        await build_report(store, Window(start=START, end=END), chunk_size=0)


async def test_attribution_credits_conversions_by_every_model(
    client: TestClient[Any, Any], data: Data
) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}")
    rows = {row["source"]: row for row in body["attribution"]}
    for model, credit in expected_attribution(data, START, END).items():
        found = {
            source: row[f"{model}_conversions"] for source, row in rows.items() if row[f"{model}_conversions"]
        }
        assert found == pytest.approx(credit), model
    for model in ("time_decay", "u_shaped", "w_shaped"):
        # every model shares out each conversion in the range exactly once
        assert sum(row[f"{model}_conversions"] for row in rows.values()) == pytest.approx(2.0)
    assert rows[SCRIPT_SOURCE]["first_touch_value"] == pytest.approx(5000.0)
    by_campaign = await api_get(client, f"/api/analytics?{RANGE}&by=campaign")
    assert by_campaign["attribution_by"] == "campaign"
    assert {row["campaign"] for row in by_campaign["attribution"]} == {"(no campaign)"}


async def test_breakdowns_list_the_largest_groups_first(client: TestClient[Any, Any], data: Data) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}")
    for table in ("funnel_by_channel", "funnel_by_source", "funnel_by_flow_version", "funnel_by_variant"):
        counts = [row["conversations"] for row in body[table]]
        assert counts == sorted(counts, reverse=True), table
    assert body["dropoff"][0]["question"] == "need"  # the most drop-offs first


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("from=2024-03-01&to=2024-03-01", START, START + timedelta(days=1)),
        ("from=2024-03-31&to=2024-03-31", END - timedelta(days=1), END),
        ("from=2024-03-02&to=2024-03-30", START + timedelta(days=1), END - timedelta(days=1)),
        ("from=2024-02-29&to=2024-02-29", START - timedelta(days=1), START),
        (
            "from=2024-03-01T00:00:01Z&to=2024-03-31T23:59:59%2B00:00",
            START + timedelta(seconds=1),
            END - timedelta(seconds=1),
        ),
        ("from=2024-03-01T02:00:00%2B02:00&to=2024-03-02", START, START + timedelta(days=2)),
        ("from=2024-03-01T00:00:00&to=2024-03-01T12:00:00", START, START + timedelta(hours=12)),
    ],
)
async def test_the_range_holds_its_first_and_last_moment_and_nothing_outside(
    client: TestClient[Any, Any], data: Data, query: str, start: datetime, end: datetime
) -> None:
    body = await api_get(client, f"/api/analytics?{query}")
    assert body["window"]["from"] == start.isoformat() and body["window"]["to"] == end.isoformat()
    want = expected(data, start, end)
    for table in ("funnel", "funnel_by_channel", "dropoff", "response_times", "lead_scores"):
        assert_same_rows(table, body[table], want[table])


async def test_boundary_days_hold_exactly_the_conversations_created_on_them(
    client: TestClient[Any, Any], data: Data
) -> None:
    first = await api_get(client, "/api/analytics?from=2024-03-01&to=2024-03-01")
    assert first["funnel"][0]["conversations"] == 1  # c07, created at 00:00:00
    last = await api_get(client, "/api/analytics?from=2024-03-31&to=2024-03-31")
    assert last["funnel"][0]["conversations"] == 1  # c08, created at 23:59:59
    instants = await api_get(client, "/api/analytics?from=2024-03-01T00:00:01Z&to=2024-03-31T23:59:59Z")
    assert instants["funnel"][0]["conversations"] == 9  # neither of them: `to` is excluded


async def test_without_dates_the_last_30_days_are_shown(client: TestClient[Any, Any], data: Data) -> None:
    body = await api_get(client, "/api/analytics")
    start, end = datetime(2024, 3, 17, tzinfo=UTC), datetime(2024, 4, 16, tzinfo=UTC)
    assert body["window"]["from"] == start.isoformat() and body["window"]["to"] == end.isoformat()
    want = expected(data, start, end)
    assert want["funnel"][0]["conversations"] == 5
    for table in ROW_KEYS:
        assert_same_rows(table, body[table], want[table])


@pytest.mark.parametrize(
    ("query", "channel", "flow"),
    [
        ("channel=sms", "sms", None),
        ("flow=webinar", None, "webinar"),
        ("channel=email&flow=default", "email", "default"),
    ],
)
async def test_channel_and_flow_filters(
    client: TestClient[Any, Any], data: Data, query: str, channel: str | None, flow: str | None
) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}&{query}")
    assert body["window"]["channel"] == channel and body["window"]["flow"] == flow
    want = expected(data, START, END, channel=channel, flow=flow)
    assert want["funnel"][0]["conversations"] == 1
    for table in ROW_KEYS:
        assert_same_rows(table, body[table], want[table])


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=yesterday", "from must be a date"),
        ("from=2024-02-30", "from is not a date"),
        ("to=2024-03-01T25:00:00Z", "to must be a date (YYYY-MM-DD) or an ISO 8601 time"),
        ("from=2024-03-10&to=2024-03-09", "from must be before to"),
        ("channel=fax", "channel must be one of web, sms, whatsapp, email"),
        ("flow=Not%20a%20flow", "flow must be a flow id"),
        ("by=medium", "by must be one of source, campaign"),
        ("to=9999-12-31", "to is out of range"),
        ("from=0001-01-01T00:00:00%2B01:00", "from is out of range"),
        ("to=0001-01-05", "from is out of range"),  # the default 30 days before it
    ],
)
async def test_bad_filters_get_a_clear_error(client: TestClient[Any, Any], query: str, says: str) -> None:
    for path in ("/api/analytics", "/api/analytics/funnel.csv"):
        body = await api_get(client, f"{path}?{query}", status=400)
        assert body["error"] == "bad_request"
        assert says in body["message"], body


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_every_table_exports_as_csv(client: TestClient[Any, Any], data: Data) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}")
    for table in TABLES:
        response = await client.get(f"/api/analytics/{table}.csv?{RANGE}", headers=AUTH)
        assert response.status == 200, table
        assert response.content_type == "text/csv" and response.charset == "utf-8"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="leadbot-{table}-2024-03-01-2024-03-31.csv"'
        )
        header, *rows = parse_csv(await response.text())
        assert header == list(body[table][0]), table
        assert len(rows) == len(body[table]), table
        for row, record in zip(rows, body[table], strict=True):
            for cell, (column, value) in zip(row, record.items(), strict=True):
                if value is None:
                    assert cell == "", (table, column)
                elif isinstance(value, str):
                    assert cell.lstrip("'") == value, (table, column)
                else:
                    assert float(cell) == pytest.approx(value), (table, column)


async def test_csv_cells_that_a_spreadsheet_would_run_are_defused(
    client: TestClient[Any, Any], data: Data
) -> None:
    response = await client.get(f"/api/analytics/funnel_by_source.csv?{RANGE}", headers=AUTH)
    sources = [row[0] for row in parse_csv(await response.text())[1:]]
    assert "'" + FORMULA_SOURCE in sources
    assert {"'@evil", "'-sale", "'+promo"} <= set(sources)
    assert SCRIPT_SOURCE in sources and "google" in sources and "unknown" in sources  # left as they are
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in sources)


async def test_csv_follows_the_filters(client: TestClient[Any, Any], data: Data) -> None:
    response = await client.get("/api/analytics/funnel.csv?from=2024-03-01&to=2024-03-01", headers=AUTH)
    rows = parse_csv(await response.text())
    assert rows[0] == ["stage", "conversations", "share"]
    assert rows[1] == ["conversations", "1", "1.0"]


async def test_an_unknown_table_is_not_found(client: TestClient[Any, Any]) -> None:
    body = await api_get(client, "/api/analytics/leads.csv", status=404)
    assert body["error"] == "not_found" and "funnel_by_source" in body["message"]


async def signed_in(client: TestClient[Any, Any], role: str) -> Agent:
    user = await add_user(client, f"{role}-{secrets.token_hex(3)}@example.com", name=f"An {role}", role=role)
    return await Agent.sign_in(client, user)


async def test_only_admins_see_analytics(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/api/analytics")).status == 401
    signed_out = await client.get("/admin/analytics", allow_redirects=False)
    assert signed_out.status == 302 and signed_out.headers["Location"] == "/login?next=/admin/analytics"
    agent = await signed_in(client, "agent")
    try:
        refused = await agent.api("GET", "/api/analytics", status=403)
        assert refused["error"] == "forbidden" and "only admins see analytics" in refused["message"]
        csv_refused = await agent.api("GET", "/api/analytics/funnel.csv", status=403)
        assert csv_refused["error"] == "forbidden"
        async with agent.http.get(client.make_url("/admin/analytics"), allow_redirects=False) as page:
            assert page.status == 403
            assert "admin role" in await page.text()
        assert "/admin/analytics" not in await agent.get_text("/inbox")
    finally:
        await agent.close()


SVG = re.compile(r"<svg\b.*?</svg>", re.S)


async def test_the_page_draws_every_chart_with_its_table_and_labels_as_text(
    client: TestClient[Any, Any], data: Data
) -> None:
    admin = await signed_in(client, "admin")
    try:
        html = await admin.get_text(f"/admin/analytics?{RANGE}")
    finally:
        await admin.close()
    assert '<a href="/admin/analytics" aria-current="page">Analytics</a>' in html
    assert "<script" not in html and " style=" not in html  # no markup from the data, CSP-clean
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    charts = {}
    for markup in SVG.findall(html):
        root = ET.fromstring(markup)  # well-formed: every label escaped
        charts[root.get("id")] = root
        assert root.get("aria-labelledby") == f"{root.get('id')}-title {root.get('id')}-desc"
        assert not [el for el in root.iter() if el.tag.split("}")[-1] in ("script", "foreignObject", "image")]
    assert set(charts) == {
        "chart-funnel",
        "chart-funnel-by-channel",
        "chart-funnel-by-source",
        "chart-funnel-by-flow-version",
        "chart-funnel-by-variant",
        "chart-dropoff",
        "chart-response-times",
        "chart-handoff-outcomes",
        "chart-lead-scores",
        "chart-attribution",
    }
    ns = "{http://www.w3.org/2000/svg}"
    values = [
        t.text for t in charts["chart-funnel"].iter(f"{ns}text") if "chart-value" in (t.get("class") or "")
    ]
    want = expected(data, START, END)["funnel"]
    assert values == [f"{row['conversations']} · {row['share'] * 100:.1f}%" for row in want]
    source_labels = {t.text for t in charts["chart-funnel-by-source"].iter(f"{ns}text")}
    assert SCRIPT_SOURCE in source_labels  # shown as the text it is
    for table in TABLES:
        assert f'id="table-{table}"' in html, table
        assert f'href="/api/analytics/{table}.csv?from=2024-03-01&amp;to=2024-03-31"' in html, table
    assert 'value="2024-03-01"' in html and 'value="2024-03-31"' in html


async def test_a_bad_range_on_the_page_says_what_is_wrong(client: TestClient[Any, Any]) -> None:
    admin = await signed_in(client, "admin")
    try:
        async with admin.http.get(client.make_url("/admin/analytics?from=2024-04-01&to=2024-03-01")) as page:
            assert page.status == 400
            html = await page.text()
    finally:
        await admin.close()
    assert "from must be before to" in html
    assert 'value="2024-04-01"' in html  # what was typed stays in the form
    assert "<svg" not in html


def test_chart_labels_are_text_never_markup() -> None:
    hostile = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "a & b's"]
    bars = [Bar(label, i + 1, f"{label} {i}") for i, label in enumerate(hostile)]
    charts = [
        bar_chart("chart-a", hostile[0], hostile[1], bars),
        funnel_chart("chart-b", "t", "d", bars),
        grouped_bar_chart("chart-c", "t", "d", hostile, [Group(label, bars) for label in hostile]),
        histogram("chart-d", "t", "d", bars),
    ]
    for chart in charts:
        root = ET.fromstring(str(chart))
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert tags <= {"svg", "title", "desc", "g", "text", "rect", "line"}, tags
        texts = "".join(el.text or "" for el in root.iter())
        assert hostile[0] in texts or hostile[0][:20] in texts
    first = ET.fromstring(str(charts[0]))
    assert first.find("{http://www.w3.org/2000/svg}title").text == hostile[0]  # type: ignore[union-attr]
    assert first.find("{http://www.w3.org/2000/svg}desc").text == hostile[1]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="chart id"):
        bar_chart('x" onload="alert(1)', "t", "d", bars)


def test_percentiles_are_nearest_rank() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert nearest_rank([4.0, 1.0, 3.0, 2.0], 90) == 4.0
    assert nearest_rank([float(i) for i in range(1, 11)], 90) == 9.0
    assert nearest_rank([float(i) for i in range(1, 11)], 50) == 5.0
    assert nearest_rank([float(i) for i in range(1, 21)], 90) == 18.0
    with pytest.raises(ValueError):
        nearest_rank([1.0], 0)


async def test_a_real_handoff_and_claim_are_timed(aiohttp_client: ClientFactory, tmp_path: Any) -> None:
    """The times the wait is measured from are kept by the handoff and the claim themselves."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))  # the store keeps milliseconds
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data"), clock=clock.now, timers=clock))
    visitor = await hand_off(client)
    await settle(client.app)
    conv_id = visitor.conversation_id
    queued = await client.app[keys.STORE].get_conversation(conv_id)
    assert queued.handed_off_at == clock.now() and queued.claimed_at is None
    clock.advance(42)
    claim = await client.post(f"/api/conversations/{conv_id}/claim", headers=AUTH)
    assert claim.status == 200, await claim.text()
    claimed = await client.app[keys.STORE].get_conversation(conv_id)
    assert claimed.queued_at is None and claimed.handed_off_at == queued.handed_off_at
    assert claimed.claimed_at == clock.now()
    reply = await client.post(
        f"/api/conversations/{conv_id}/reply", json={"text": "Hi, Ann here"}, headers=AUTH
    )
    assert reply.status == 201
    day = clock.now().date()
    body = await api_get(
        client, f"/api/analytics?from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
    )
    timings = {row["measure"]: row for row in body["response_times"]}
    assert timings["queue_wait"]["count"] == 1 and timings["queue_wait"]["p50_seconds"] == pytest.approx(42.0)
    assert timings["first_agent_reply"]["count"] == 1
    assert timings["bot_response"]["count"] == 3  # one answer to each of the visitor's three messages
    outcomes = {row["outcome"]: row for row in body["handoff_outcomes"]}
    assert outcomes["with_agent"]["conversations"] == 1 and outcomes["with_agent"]["claimed"] == 1
    await visitor.close()


async def test_an_empty_range_reports_zeros_and_draws_no_bars(client: TestClient[Any, Any]) -> None:
    body = await api_get(client, f"/api/analytics?{RANGE}")
    assert [row["conversations"] for row in body["funnel"]] == [0, 0, 0, 0, 0]
    assert all(row["share"] is None for row in body["funnel"])
    assert body["funnel_by_source"] == [] and body["dropoff"] == [] and body["attribution"] == []
    assert [row["count"] for row in body["response_times"]] == [0, 0, 0]
    assert all(row["p50_seconds"] is None for row in body["response_times"])
    assert [row["conversations"] for row in body["handoff_outcomes"]] == [0] * 6
    assert sum(row["leads"] for row in body["lead_scores"]) == 0
    admin = await signed_in(client, "admin")
    try:
        html = await admin.get_text(f"/admin/analytics?{RANGE}")
    finally:
        await admin.close()
    assert html.count("<svg ") == 10
    assert 'class="chart-bar' not in html  # no bars: each chart says there is nothing to show
    assert "Nothing to show for these filters." in html
