"""The bot reads only what the sender just wrote: quoted history and signatures are cut."""

from __future__ import annotations

import pytest

from channels.email_html import html_to_text
from channels.email_reply import fresh_text

GMAIL = """\
Yes, I'm the one who decides.

On Tue, Mar 5, 2024 at 10:12 AM Acme Sales <leads+3f2a9c@example.com> wrote:
> Are you the one who makes the buying decision?
>
> --
> Acme Sales
"""

GMAIL_WRAPPED_ATTRIBUTION = """\
About 40 people.

On Tue, Mar 5, 2024 at 10:12 AM Acme Sales Team With A Long Name <
leads+3f2a9c@example.com> wrote:

> How many people are on your team?
"""

OUTLOOK_DESKTOP = """\
Our budget is about 5k a month.

-----Original Message-----
From: Acme Sales <leads+3f2a9c@example.com>
Sent: Tuesday, March 5, 2024 10:12 AM
To: Jane Doe <jane@acme.io>
Subject: RE: Pricing question

What monthly budget do you have in mind?
"""

OUTLOOK_WEB = """\
Next week would be great.

________________________________
From: Acme Sales <leads+3f2a9c@example.com>
Sent: Tuesday, March 5, 2024 10:12
To: Jane Doe <jane@acme.io>
Subject: Re: Pricing question

When would you like to get started?
"""

OUTLOOK_HEADER_ONLY = """\
Acme Corp.

*From:* Acme Sales <leads+3f2a9c@example.com>
*Sent:* Tuesday, March 5, 2024 10:12 AM
*To:* Jane Doe
*Subject:* Re: Pricing question

Which company are you with?
"""

APPLE_MAIL = """\
It's Jane Doe.

Sent from my iPhone

> On 5 Mar 2024, at 10:12, Acme Sales <leads+3f2a9c@example.com> wrote:
>
> What's your name?
"""

APPLE_MAIL_DESKTOP = """\
We need a shared inbox for support.

> On 5 Mar 2024, at 10:12, Acme Sales <leads+3f2a9c@example.com> wrote:
>
> What are you hoping to solve with us?
"""

SIGNATURE = """\
Budget is 2-3k per month.

--
Jane Doe
Head of Operations, Acme
+1 415 555 0100
"""

SIGNATURE_WITH_SPACE = "Call me at +1 415 555 0100.\n-- \nJane\nAcme Corp | acme.io\n"

GERMAN = """\
Wir sind etwa 40 Leute.

Am Di., 5. März 2024 um 10:12 Uhr schrieb Acme Sales <leads+3f2a9c@example.com>:
> How many people are on your team?
"""

FRENCH = """\
Nous sommes 40.

Le mar. 5 mars 2024 à 10:12, Acme Sales <leads+3f2a9c@example.com> a écrit :
> How many people are on your team?
"""

SPANISH = """\
Somos 40.

El mar, 5 mar 2024 a las 10:12, Acme Sales (<leads+3f2a9c@example.com>) escribió:
> How many people are on your team?
"""

GERMAN_MOBILE = (
    "Ja, das entscheide ich.\n\nVon meinem iPhone gesendet\n\n> Am 05.03.2024 um 10:12 schrieb Acme:\n> Q?\n"
)

INTERLEAVED = """\
On Tue, Mar 5, 2024 at 10:12 AM Acme Sales <leads@example.com> wrote:
> Which company are you with?

Acme Corp

> How many people are on your team?

About 40.
"""

UNQUOTED_HISTORY_BELOW_ATTRIBUTION = """\
Thanks, Friday works.

On Tue, Mar 5, 2024 at 10:12 AM Acme Sales <leads@example.com> wrote:
Would Friday work for a call?
"""

FORWARDED = """\
Please see below, my colleague asked about pricing.

---------- Forwarded message ---------
From: Bob <bob@acme.io>
Date: Tue, Mar 5, 2024 at 9:00 AM
Subject: pricing?
"""


@pytest.mark.parametrize(
    ("body", "fresh"),
    [
        (GMAIL, "Yes, I'm the one who decides."),
        (GMAIL_WRAPPED_ATTRIBUTION, "About 40 people."),
        (OUTLOOK_DESKTOP, "Our budget is about 5k a month."),
        (OUTLOOK_WEB, "Next week would be great."),
        (OUTLOOK_HEADER_ONLY, "Acme Corp."),
        (APPLE_MAIL, "It's Jane Doe."),
        (APPLE_MAIL_DESKTOP, "We need a shared inbox for support."),
        (SIGNATURE, "Budget is 2-3k per month."),
        (SIGNATURE_WITH_SPACE, "Call me at +1 415 555 0100."),
        (GERMAN, "Wir sind etwa 40 Leute."),
        (FRENCH, "Nous sommes 40."),
        (SPANISH, "Somos 40."),
        (GERMAN_MOBILE, "Ja, das entscheide ich."),
        (INTERLEAVED, "Acme Corp\n\nAbout 40."),
        (UNQUOTED_HISTORY_BELOW_ATTRIBUTION, "Thanks, Friday works."),
        (FORWARDED, "Please see below, my colleague asked about pricing."),
    ],
    ids=[
        "gmail",
        "gmail-wrapped-attribution",
        "outlook-original-message",
        "outlook-web",
        "outlook-header-block",
        "apple-mail-iphone",
        "apple-mail",
        "signature",
        "signature-dash-dash-space",
        "german",
        "french",
        "spanish",
        "german-mobile-footer",
        "interleaved",
        "unquoted-history",
        "forwarded",
    ],
)
def test_the_fresh_part_is_kept_and_history_and_signatures_are_cut(body: str, fresh: str) -> None:
    assert fresh_text(body) == fresh


def test_a_mail_with_nothing_quoted_is_kept_whole_with_its_paragraphs() -> None:
    body = "Hi,\r\n\r\nwe're Acme, 40 people.\r\n\r\n\r\n\r\nBudget: 5k/month.\r\n"
    assert fresh_text(body) == "Hi,\n\nwe're Acme, 40 people.\n\nBudget: 5k/month."


def test_ordinary_sentences_that_look_a_little_like_headers_are_kept() -> None:
    body = "On Monday we can talk.\nFrom: the whole team, thanks!\nLe prix est bon."
    assert fresh_text(body) == body


def test_a_body_that_is_only_quoted_history_has_no_fresh_text() -> None:
    assert fresh_text("> old\n> older\n") == ""


def test_html_only_mail_becomes_text_with_blockquotes_quoted() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<div>We are <b>40</b> people.<br>Budget 5k &amp; up.</div>"
        '<div class="gmail_quote">'
        "<div>On Tue, Mar 5, 2024 at 10:12 AM Acme Sales &lt;leads@example.com&gt; wrote:</div>"
        "<blockquote><p>How many people are on your team?</p></blockquote></div>"
        "<script>alert(1)</script></body></html>"
    )
    text = html_to_text(html)
    assert text.splitlines()[:2] == ["We are 40 people.", "Budget 5k & up."]
    assert "> How many people are on your team?" in text
    assert "alert" not in text and "color" not in text
    assert fresh_text(text) == "We are 40 people.\nBudget 5k & up."
