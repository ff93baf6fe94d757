"""What the operator reads: no SDK chatter at INFO, and a reason on every failed send."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from twilio.rest import Client  # type: ignore[import-untyped]

import channels.twilio_send
from bot.cli import quiet_chatty_loggers
from bot.settings import Settings, SettingsError
from channels.twilio_http import TwilioHttpClient
from tests.conftest import api_get
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, ClientFactory, ServerFactory, start_rig

LEAD = "+14155550100"


@pytest.fixture
def twilio_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("twilio")
    level = logger.level
    yield logger
    logger.setLevel(level)  # the next test sees the SDK's logger as it was


@pytest.mark.parametrize(
    ("root", "shown"),
    [(logging.INFO, ["WARNING"]), (logging.WARNING, ["WARNING"]), (logging.DEBUG, ["INFO", "WARNING"])],
)
def test_the_twilio_sdk_only_warns_unless_the_operator_asked_for_debug(
    caplog: pytest.LogCaptureFixture, twilio_logger: logging.Logger, root: int, shown: list[str]
) -> None:
    caplog.set_level(root)
    quiet_chatty_loggers()
    sdk = logging.getLogger("twilio.async_http_client")  # the SDK's HTTP client logs here
    sdk.info("-- BEGIN Twilio API Request --")
    sdk.warning("the SDK warns")
    logging.getLogger("bot.anything").info("leadbot's own lines stay")
    assert [r.levelname for r in caplog.records if r.name.startswith("twilio")] == shown
    assert "leadbot's own lines stay" in caplog.messages or root > logging.INFO


def test_the_log_level_is_a_setting() -> None:
    assert Settings.from_env({}).log_level == "info"
    assert Settings.from_env({"LEADBOT_LOG_LEVEL": " DEBUG "}).log_level == "debug"
    with pytest.raises(SettingsError, match="LEADBOT_LOG_LEVEL must be debug, info, warning or error"):
        Settings.from_env({"LEADBOT_LOG_LEVEL": "verbose"})


async def test_a_reply_twilio_never_answers_is_failed_with_the_timeout_as_its_reason(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    @contextlib.asynccontextmanager
    async def impatient_client(settings: Settings) -> AsyncIterator[Any]:
        # leadbot's own client, with a timeout a test can wait for (15 s in production)
        http = TwilioHttpClient(settings.twilio_api_url, timeout=0.3)
        try:
            yield Client(
                http_client=http,
                environment={"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN},
            )
        finally:
            await http.close()

    monkeypatch.setattr(channels.twilio_send, "twilio_client", impatient_client)
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")
    rig.fake.hold()  # Twilio takes the request and never answers
    try:
        assert await rig.text(LEAD, "Hi there") == []
    finally:
        rig.fake.release()
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    messages = (await api_get(rig.client, f"/api/conversations/{conv['id']}"))["messages"]
    reply = next(m for m in messages if m["from"] == "bot")
    assert (reply["delivery"], reply["delivery_error"]) == ("failed", "could not reach Twilio: TimeoutError")
    [record] = [r for r in caplog.records if "could not send message" in r.getMessage()]
    assert record.exc_info is not None and str(record.exc_info[1]) == "could not reach Twilio: TimeoutError"
