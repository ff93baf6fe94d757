"""Is the From address of an inbound mail believable? SPF, DKIM and DMARC results, judged.

The receiving provider checks the mail and reports results: SendGrid in its `SPF` and
`dkim` fields, Mailgun in `X-Mailgun-Spf` / `X-Mailgun-Dkim-Check-Result`, an MTA in the
topmost `Authentication-Results` header. A mail is *suspicious* when a check failed, or
when no passing check vouches for the From domain: SPF checks the envelope sender, which
a spoofer chooses, so an SPF pass for another domain proves nothing about From.
Suspicious mail is kept but never joins a lead by its From address (email_inbound.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

_SPF_FAILURES: Final = frozenset({"fail", "softfail"})
_COMMENT: Final = re.compile(r"\([^()]*\)")
_RESULT: Final = re.compile(r"^\s*(spf|dkim|dmarc)\s*=\s*([a-z]+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROPERTY: Final = re.compile(
    r"\b(header\.d|header\.i|header\.from|smtp\.mailfrom|smtp\.helo)\s*=\s*(\S+)", re.I
)


def domain_of(address: str | None) -> str | None:
    if not address:
        return None
    domain = address.strip().strip("<>").rpartition("@")[2].strip().rstrip(".").lower()
    return domain or None


def aligned(domain: str | None, from_domain: str) -> bool:
    """Relaxed alignment, approximated without a public-suffix list: the same domain, or one
    a subdomain of the other (mail.acme.io signs for acme.io)."""
    if not domain:
        return False
    return domain == from_domain or domain.endswith(f".{from_domain}") or from_domain.endswith(f".{domain}")


@dataclass
class AuthResults:
    """What the provider reported. Results are lower-case RFC 8601 words: pass, fail, none …"""

    spf: str = "none"
    spf_domain: str | None = None  # the envelope sender's domain the SPF result is for
    dkim: list[tuple[str | None, str]] = field(default_factory=list)  # (signing domain, result)
    dmarc: str | None = None


@dataclass(frozen=True)
class Verdict:
    spf: str
    dkim: str  # pass when any signature passed, fail when one failed and none passed, else none
    dmarc: str | None
    aligned: bool  # a passing check vouches for the From domain
    suspicious: bool
    reasons: tuple[str, ...]

    def as_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "spf": self.spf,
            "dkim": self.dkim,
            "aligned": self.aligned,
            "suspicious": self.suspicious,
        }
        if self.dmarc is not None:
            meta["dmarc"] = self.dmarc
        if self.reasons:
            meta["reasons"] = list(self.reasons)
        return meta


def judge(results: AuthResults, from_domain: str) -> Verdict:
    dkim_results = [result for _, result in results.dkim]
    dkim = "pass" if "pass" in dkim_results else "fail" if "fail" in dkim_results else "none"
    vouched = (
        results.dmarc == "pass"
        or (results.spf == "pass" and aligned(results.spf_domain, from_domain))
        or any(result == "pass" and aligned(domain, from_domain) for domain, result in results.dkim)
    )
    reasons: list[str] = []
    if results.spf in _SPF_FAILURES:
        reasons.append(f"SPF {results.spf}")
    if dkim == "fail":
        reasons.append("DKIM fail")
    if results.dmarc == "fail":
        reasons.append("DMARC fail")
    if not vouched:
        reasons.append(f"no passing SPF or DKIM check for {from_domain}")
    return Verdict(
        spf=results.spf,
        dkim=dkim,
        dmarc=results.dmarc,
        aligned=vouched,
        suspicious=bool(reasons),
        reasons=tuple(reasons),
    )


def parse_authentication_results(header: str) -> AuthResults:
    """One `Authentication-Results` header (RFC 8601): `mx.example; spf=pass smtp.mailfrom=…; dkim=…`."""
    results = AuthResults()
    for clause in _COMMENT.sub(" ", header).split(";")[1:]:  # the first part names the checking host
        match = _RESULT.match(clause)
        if match is None:
            continue
        method, result, rest = match.group(1).lower(), match.group(2).lower(), match.group(3)
        props = {name.lower(): value for name, value in _PROPERTY.findall(rest)}
        if method == "spf":
            results.spf = result
            results.spf_domain = domain_of(props.get("smtp.mailfrom") or props.get("smtp.helo"))
        elif method == "dkim":
            results.dkim.append((domain_of(props.get("header.d") or props.get("header.i")), result))
        elif results.dmarc is None:
            results.dmarc = result
    return results


def parse_sendgrid_dkim(raw: str) -> list[tuple[str | None, str]]:
    """SendGrid's `dkim` field: `{@acme.io : pass, @sendgrid.info : fail}` (or `none`)."""
    found = re.findall(r"@([^\s:,{}]+)\s*:\s*([a-z]+)", raw, re.IGNORECASE)
    return [(domain.lower().rstrip("."), result.lower()) for domain, result in found]


def dkim_signing_domains(signatures: Iterable[str]) -> list[str]:
    """The d= domains of DKIM-Signature headers."""
    domains = []
    for signature in signatures:
        match = re.search(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", signature)
        if match:
            domains.append(match.group(1).lower().rstrip("."))
    return domains


def spf_word(raw: str | None) -> str:
    """A provider's SPF result as an RFC word: "Pass" → pass, "SoftFail" → softfail."""
    word = (raw or "").strip().split(" ")[0].lower() if raw else ""
    return word or "none"
