"""Word tables and number reading shared by the offline normalisers.

Everything here is data or a small pure function: number words ("two and a half
thousand"), currency symbols and words, time units, month names, and the keyword tables
the name/company/free-text readers use. The regex fragments have no capturing groups,
so they can be embedded in any pattern; callers compile with re.IGNORECASE.
"""

from __future__ import annotations

import re


def wordset(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated block (keeps word tables compact)."""
    return frozenset(text.split())


def any_of(*alternatives: str) -> str:
    """A non-capturing alternation; keeps long regex tables one phrase per line."""
    return "(?:" + "|".join(alternatives) + ")"


UNITS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
# Scale words that close a group: "two thousand", "a million".
LARGE_SCALES: dict[str, int] = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# Other words that may appear inside a spelled-out number.
SPECIAL_NUMBER_WORDS = ("hundred", "dozen", "couple", "half")

_NUMBER_WORD_LIST = sorted([*UNITS, *TENS, *LARGE_SCALES, *SPECIAL_NUMBER_WORDS], key=len, reverse=True)
NUMBER_WORD = r"(?:" + "|".join(_NUMBER_WORD_LIST) + r")\b"
# A run of number words: "fifty", "twenty-five", "a dozen", "a hundred and twenty",
# "two and a half thousand", "half a million". "and" is only accepted after a scale word
# or before "a half", so "between two and three" stays two numbers.
WORD_NUMBER = (
    rf"(?:\b(?:an?\s+)?{NUMBER_WORD}"
    rf"(?:(?:\s+|-)(?:an?\s+)?{NUMBER_WORD}"
    rf"|(?:(?<=hundred)|(?<=thousand)|(?<=million)|(?<=billion))\s+and\s+{NUMBER_WORD}"
    rf"|\s+and\s+an?\s+half\b)*)"
)
# Digits: "2,500", "1.500" and "1.234,56" (European), "1 200" (space as thousands
# separator), "2.5", "2,5" (decimal comma).
DIGIT_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)"
    r"|\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![\d.])"
    r"|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d,.]\d)"
    r"|\d+(?:[.,]\d+)?)"
)
NUMBER = rf"(?:{DIGIT_NUMBER}|{WORD_NUMBER})"

# Multipliers written after a number: "5k", "2.5 million", "ten grand", "5 hundred".
MULTIPLIERS: dict[str, int] = {
    "k": 1_000, "thousand": 1_000, "grand": 1_000, "hundred": 100,
    "m": 1_000_000, "mm": 1_000_000, "mil": 1_000_000, "mill": 1_000_000, "million": 1_000_000,
    "mn": 1_000_000, "bn": 1_000_000_000, "billion": 1_000_000_000,
}  # fmt: skip
MULTIPLIER = r"(?:" + "|".join(sorted(MULTIPLIERS, key=len, reverse=True)) + r")(?![a-z])"

# Currency symbols, longest first so "US$" wins over "$". "$" alone means the flow's
# dollar currency when the flow uses one, USD otherwise (see normalize.money._currency).
CURRENCY_SYMBOLS: dict[str, str] = {
    "us$": "USD", "ca$": "CAD", "c$": "CAD", "au$": "AUD", "a$": "AUD", "nz$": "NZD",
    "hk$": "HKD", "s$": "SGD", "$": "$", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
}  # fmt: skip
CURRENCY_WORDS: dict[str, str] = {
    "dollar": "$", "dollars": "$", "bucks": "$", "buck": "$",
    "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
    "sterling": "GBP", "pounds sterling": "GBP", "yen": "JPY", "rupee": "INR", "rupees": "INR",
    "franc": "CHF", "francs": "CHF",
}  # fmt: skip
CURRENCY_CODES = (
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "JPY", "INR", "SEK", "NOK", "DKK",
    "PLN", "CZK", "SGD", "HKD", "MXN", "BRL", "ZAR", "CNY", "ILS", "AED",
)  # fmt: skip
DOLLAR_CODES = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD"})

CURRENCY_SYMBOL = (
    "(?:" + "|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True)) + ")"
)
CURRENCY_WORD = (
    r"(?:\b(?:"
    + "|".join(sorted([*CURRENCY_WORDS, *(c.lower() for c in CURRENCY_CODES)], key=len, reverse=True))
    + r")\b)"
)
CURRENCY_CODE = r"(?:\b(?:" + "|".join(c.lower() for c in CURRENCY_CODES) + r")\b)"

# Money periods and how many of them fit in a month.
PERIOD_PER_MONTH: dict[str, float] = {"month": 1.0, "year": 1 / 12, "quarter": 1 / 3, "week": 52 / 12}
PERIOD_WORDS: dict[str, str] = {
    "month": "month", "months": "month", "mo": "month", "mth": "month", "monthly": "month", "pcm": "month",
    "year": "year", "years": "year", "yr": "year", "annum": "year", "annual": "year",
    "annually": "year", "yearly": "year", "pa": "year", "perannum": "year",
    "quarter": "quarter", "qtr": "quarter", "quarterly": "quarter",
    "week": "week", "wk": "week", "weekly": "week",
}  # fmt: skip

# Time units for timelines, in days. A quarter is 90 days and a month 30, so the
# flow's labels "Within 3 months" / "Within 6 months" land on the 90 / 180 day bounds.
UNIT_DAYS: dict[str, int] = {
    "day": 1, "days": 1, "week": 7, "weeks": 7, "wk": 7, "wks": 7, "fortnight": 14, "fortnights": 14,
    "month": 30, "months": 30, "mo": 30, "mos": 30, "quarter": 90, "quarters": 90,
    "year": 365, "years": 365, "yr": 365, "yrs": 365,
}  # fmt: skip
TIME_UNIT = r"(?:" + "|".join(sorted(UNIT_DAYS, key=len, reverse=True)) + r")\b"

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?"
# (month, day) each season starts on, northern hemisphere.
SEASONS: dict[str, tuple[int, int]] = {
    "spring": (3, 20), "summer": (6, 21), "fall": (9, 22), "autumn": (9, 22), "winter": (12, 21),
}  # fmt: skip

# "a few weeks", "several months": vague counts read as these numbers.
VAGUE_COUNTS: dict[str, float] = {
    "a few": 3,
    "several": 4,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "couple": 2,
}


def parse_digits(text: str) -> float | None:
    """'2,500' -> 2500, '1 200' -> 1200, '2.5' -> 2.5, '2,5' -> 2.5 (decimal comma)."""
    s = re.sub(r"[\s\u00a0\u202f]", "", text)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        s = s.replace(",", "")  # "2,500"
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", s):
        s = s.replace(".", "").replace(",", ".")  # "1.500", "1.234,56": European grouping
    else:
        s = s.replace(",", ".")  # "2,5": decimal comma
    try:
        return float(s)
    except ValueError:
        return None


def parse_number_words(text: str) -> float | None:
    """Read spelled-out numbers: 'a hundred and twenty' -> 120, 'half a million' -> 500000."""
    tokens = [t for t in re.split(r"[\s-]+", text.lower().strip()) if t]
    total = 0.0
    current = 0.0
    seen = False
    for token in tokens:
        if token in ("a", "an", "and", "of"):
            continue  # "a" is 1 only in front of a scale, which the `or 1` below covers
        if token in UNITS:
            current += UNITS[token]
        elif token in TENS:
            current += TENS[token]
        elif token == "hundred":
            current = (current or 1) * 100
        elif token == "dozen":
            current = (current or 1) * 12
        elif token == "couple":
            current = (current or 1) * 2
        elif token == "half":
            # "half a million" starts a group; "two and a half" adds to it.
            current = current + 0.5
        elif token in LARGE_SCALES:
            total += (current or 1) * LARGE_SCALES[token]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def parse_number(text: str) -> float | None:
    """A number written with digits or words, as matched by `NUMBER`."""
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        return parse_digits(text)
    return parse_number_words(text)


# ------------------------------------------------------------------------ keyword tables

# Money qualifiers and how they bound the amount: "about X" keeps X; "up to X" and
# "at least X" keep X too (low = high = X) and say which bound it is.
MONEY_QUALIFIERS: dict[str, str] = {
    "~": "approx", "about": "approx", "around": "approx", "roughly": "approx",
    "approximately": "approx", "approx": "approx", "approx.": "approx", "circa": "approx",
    "ca.": "approx", "maybe": "approx", "perhaps": "approx", "something like": "approx",
    "somewhere around": "approx", "in the region of": "approx", "close to": "approx",
    "nearly": "approx", "almost": "approx", "give or take": "approx",
    "up to": "at_most", "at most": "at_most", "max": "at_most", "maximum": "at_most",
    "no more than": "at_most", "not more than": "at_most", "under": "at_most", "below": "at_most",
    "less than": "at_most", "just under": "at_most",
    "at least": "at_least", "min": "at_least", "minimum": "at_least", "over": "at_least",
    "above": "at_least", "more than": "at_least", "north of": "at_least", "upwards of": "at_least",
    "just over": "at_least",
}  # fmt: skip

# Words that end a name ("Jane from Acme", "Jane and I need…") or show it is not one.
NAME_STOP = wordset(
    """and from at with of here by for in on the i we my our but so thanks thank please who which that cto
    ceo cfo coo cmo founder cofounder co-founder owner vp director head manager engineer developer"""
)

# Words a name never starts with or contains: "I'm interested", "it's the CTO", "skip".
NOT_NAME = wordset(
    """a an the i me my mine we us our you your it its is am are was be been being not no yes yeah yep sure
    ok okay hi hello hey just only so very really still also currently now here there interested looking
    trying working calling writing reaching contacting wondering thinking planning hoping going getting
    asking curious new happy glad good great fine well ready free available busy sorry afraid back done
    based located responsible in on at with from for of to about part one skip pass none nothing unknown
    anonymous na why what who how when where which please thanks thank need needs want wants like would
    could can will do does did have has had your their this that these those company team business
    budget email phone number name human bot agent person someone somebody nobody everyone rather prefer
    dont don't idk dunno maybe probably definitely absolutely cto ceo cfo coo cmo cio founder cofounder
    co-founder owner president vp director head manager engineer developer designer consultant freelancer
    student all any some lead boss partner principal buyer decision decision-maker certainly sales
    marketing support it's im i'm let's lets can't cant won't private confidential secret nope nah nil
    null undefined test"""
)

# Abbreviations whose full stop belongs to the name ("Dr. Jane Doe").
NAME_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "mx", "jr", "sr", "st", "prof"})

# Legal-form suffixes kept with a company name, dots included ("Acme, Inc.", "Acme GmbH").
COMPANY_SUFFIXES = wordset(
    """inc inc. llc l.l.c. ltd ltd. limited gmbh ag sa s.a. sas sarl bv b.v. nv n.v. oy ab as a/s aps pty
    plc corp corp. corporation co co. company llp lp kg s.r.l. srl spa s.p.a. kk k.k. group holdings"""
)

# Lower-case words that end a company name in running text ("Acme and we're 40 people").
COMPANY_STOP = wordset(
    """and but so we i our my where which who as since because in for with on to by from that it is are was
    were have has need want looking here there now today currently already also"""
)

# Lower-case words allowed inside a company name before a capitalised one ("Bank of America").
COMPANY_CONNECTIVES = frozenset({"of", "and", "&", "the", "de", "du", "la", "le", "für", "y", "und", "for"})

# Role words written in capitals ("cto" -> "CTO").
ROLE_ACRONYMS = {"ceo", "cto", "cfo", "coo", "cmo", "cio", "ciso", "cro", "cpo", "vp", "svp", "evp", "gm"}

# Words that carry no content of their own: a reply made only of these (plus values
# already read) is not a free-text answer.
FILLER_WORDS = wordset(
    """it this that them one to start begin by in for the a an get started going go live asap soon and of
    is be so some something about around approximately roughly maybe probably like our my we i us our
    with at from on up please thanks thank you sure ok okay yes yeah hi hello hey also too just really
    budget team email phone number name call reach me here there are am was were have has do does would
    could can will need want looking sorry actually meant mean wait oops correction i'm we're it's i've
    we've i'd we'd that's there's let's im"""
)

# Lower-case particles inside a name ("Mary van der Berg").
NAME_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "di", "du", "le", "la", "del", "bin", "al", "ten"}
)

# Words that commonly follow "I'm" / "this is" and are never a name.
NOT_AFTER_IM = wordset(
    """urgent important great awesome amazing perfect interesting cool helpful exactly taking too tired
    excited confused lost stuck open keen eager fed down up out off over into using building running
    managing leading doing having making trying pretty quite rather kind sort certain positive aware
    unsure unable able willing sorry fine good ok okay new happy glad sure ready busy available
    interested looking working calling writing wondering thinking planning hoping going getting asking
    curious based located responsible part one all currently still also just only here there not so very
    really"""
)
