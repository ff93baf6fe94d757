"""What the sender just wrote: a reply's own text, without quoted history or signature.

Mail clients put history under a header ("On … wrote:", Outlook's "From: … Sent: …"
block, "-----Original Message-----") and usually quote it with ">". The bot should read
only the fresh part: old questions and answers in the history would be extracted again.

`fresh_text` keeps every line that is not quoted (so answers written between quoted
lines survive), and stops at the first sign of history below a header, a "-- "
signature, or a mobile footer ("Sent from my iPhone"). The whole body is kept elsewhere
for people to read.
"""

from __future__ import annotations

import re
from typing import Final

_I = re.IGNORECASE

# Attribution lines, written by the replying client above the quote. Gmail wraps long ones,
# so they are matched on up to three lines joined.
_ATTRIBUTION: Final = re.compile(
    r"^(?:"
    r"On\b.{1,300}\bwrote\s?:"  # English (Gmail, Apple Mail, Thunderbird)
    r"|Am\b.{1,300}\bschrieb\b.{0,300}:"  # German: Am 5. März 2024 um 10:12 schrieb Jane <…>:
    r"|Le\b.{1,300}\ba écrit\s?:"  # French: Le 5 mars 2024 à 10:12, Jane <…> a écrit :
    r"|El\b.{1,300}\bescribió\s?:"  # Spanish
    r"|Il\b.{1,300}\bha scritto\s?:"  # Italian
    r"|Op\b.{1,300}\bschreef\b.{0,300}:"  # Dutch
    r"|Em\b.{1,300}\bescreveu\s?:"  # Portuguese
    r"|(?:Den|På)\b.{1,300}\bskrev\b.{0,300}:"  # Swedish, Danish, Norwegian
    r"|W dniu\b.{1,300}\bnapisał(?:\(a\))?\s?:"  # Polish
    r")$",
    _I,
)
_ATTRIBUTION_START: Final = re.compile(r"^(?:On|Am|Le|El|Il|Op|Em|Den|På|W dniu)\b", _I)

# "-----Original Message-----" and its translations; forwarded-message markers too: the
# sender's own words are above them.
_SEPARATOR: Final = re.compile(
    r"^[-_=*\s]*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Messaggio originale|Oorspronkelijk bericht|Mensagem original|Originalmeddelande"
    r"|Oprindelig meddelelse|Opprinnelig melding|Forwarded message|Weitergeleitete Nachricht"
    r"|Message transféré|Begin forwarded message:?)[-_=*\s]*$",
    _I,
)
# Outlook's header block: "From: …" then, within a few lines, "Sent: …" or "Date: …".
_HEADER_FROM: Final = re.compile(r"^\*?(?:From|Von|De|Van|Da|Från|Fra|Od)\s?:\*?\s", _I)
_HEADER_DATE: Final = re.compile(
    r"^\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt|Wysłano)\s?:", _I
)
_RULE: Final = re.compile(r"^_{10,}$")  # Outlook on the web draws one above the header block

# One-line footers mobile clients add; everything below them is history.
_MOBILE_FOOTER: Final = re.compile(
    r"^(?:Sent from my \S.{0,40}"
    r"|Sent from (?:Mail|Outlook|Yahoo Mail|Gmail|AOL)\b.{0,40}"
    r"|Get Outlook for (?:iOS|Android)\b.{0,20}"
    r"|Von meinem \S.{0,30} gesendet"
    r"|Gesendet von meinem \S.{0,30}"
    r"|Envoyé de mon \S.{0,30}"
    r"|Enviado desde mi \S.{0,30}"
    r"|Inviato da(?:l mio)? \S.{0,30}"
    r"|Verzonden (?:vanaf|met) (?:mijn )?\S.{0,30}"
    r"|Skickat från min \S.{0,30})$",
    _I,
)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_length(lines: list[str], i: int) -> int:
    """How many lines the attribution starting at line `i` spans (0: it is not one)."""
    first = lines[i].strip()
    if not _ATTRIBUTION_START.match(first):
        return 0
    joined = first
    for span in range(1, 4):
        if _ATTRIBUTION.match(" ".join(joined.split())):
            return span
        if i + span >= len(lines) or not lines[i + span].strip():
            return 0
        joined = f"{joined} {lines[i + span].strip()}"
    return 0


def _starts_header_block(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if _RULE.match(line):
        following = [x.strip() for x in lines[i + 1 : i + 3] if x.strip()]
        return bool(following) and bool(_HEADER_FROM.match(following[0]))
    if not _HEADER_FROM.match(line):
        return False
    return any(_HEADER_DATE.match(x.strip()) for x in lines[i + 1 : i + 5])


def _next_text_line(lines: list[str], start: int) -> int:
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def fresh_text(body: str) -> str:
    """The part of an email body its sender just wrote."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_quoted(line):
            i += 1
            continue
        span = _attribution_length(lines, i)
        if span:
            after = _next_text_line(lines, i + span)
            if after < len(lines) and _is_quoted(lines[after]):
                i = after  # quoted history follows: skip it, an answer may come after it
                continue
            break  # unquoted history below the header: nothing after it is new
        stripped = line.strip()
        if stripped == "--" or _MOBILE_FOOTER.match(stripped):  # "-- ", often sent trailing-space-less
            break
        if _SEPARATOR.match(stripped) and any(c.isalpha() for c in stripped):
            break
        if _starts_header_block(lines, i):
            break
        kept.append(line.rstrip())
        i += 1
    text = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", text)
