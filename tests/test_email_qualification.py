"""A whole qualification by email: the lead writes first, answers in replies that quote our
mails, and ends qualified — the email address is known from the start and never asked."""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app
from tests.conftest import ClientFactory
from tests.support.email_app import conversation, email_settings, reply_from_lead, send_mail
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink

EMAIL_QUESTION = "What's the best email to reach you?"


async def test_a_lead_is_qualified_over_email(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    with SmtpSink() as sink:
        client = await aiohttp_client(create_app(email_settings(tmp_path / "data", sink.port)))
        first = Mail(
            subject="Shared inbox for our support team",
            text=(
                "Hi,\n\nI'm Jane from Acme. We're 40 people and need a shared inbox for support. "
                "Budget is around 5k a month and we'd like to start ASAP.\n\n"
                "Best,\nJane\n-- \nJane Doe | Head of Support, Acme\n+1 415 555 0100"
            ),
        )
        body = await send_mail(client, first)
        conv_id = body["conversation_id"]

        greeting = await sink.next_mail()
        text = greeting.part("text/plain")
        assert text.startswith("Hi! I'm the leadbot assistant.")  # the greeting, on the first reply
        assert "Are you the one who makes the buying decision?" in text
        conv = await conversation(client, conv_id)
        assert conv["lead"]["company"] == "Acme" and conv["lead"]["team_size"] == 40
        assert conv["lead"]["budget_monthly"] == 5000 and conv["lead"]["timeline"] == "immediate"
        assert conv["lead"]["email"] == "jane@acme.io"
        # The signature's phone number was not read: the bot only saw the fresh text.
        assert conv["lead"]["phone"] is None

        decided = reply_from_lead(greeting, "Yes, it's my call.")
        await send_mail(client, decided, "mime")
        phone_question = await sink.next_mail()
        assert "phone" in phone_question.part("text/plain")

        await send_mail(client, reply_from_lead(phone_question, "I'd rather not say.\n\nSent from my iPhone"))
        closing = await sink.next_mail()
        assert "a person from our team will join" in closing.part("text/plain")

        conv = await conversation(client, conv_id)
        lead = conv["lead"]
        assert (lead["decision_maker"], lead["status"], lead["grade"]) == (True, "qualified", "A")
        assert "phone" in lead["skipped"]
        assert (conv["mode"], conv["handoff_reason"]) == ("pending_human", "qualified")
        assert all(EMAIL_QUESTION not in m["text"] for m in conv["messages"] if m["from"] == "bot")
        sent = [m for m in conv["messages"] if m["from"] != "visitor"]
        assert [m["delivery"] for m in sent] == ["queued"] * len(sent) == ["queued"] * 3
        # One thread throughout: every mail we sent answers the lead's latest.
        assert str(closing.message["References"]).split()[0] == first.message_id
        assert sink.received_nothing_more()
