"""Configuration read from an injected environment mapping, never at import time."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from bot.llm.config import LlmConfig
    from bot.logs import LogFormat

N = TypeVar("N", int, float)
LogLevel = Literal["debug", "info", "warning", "error"]
ProxyNetwork = IPv4Network | IPv6Network


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _number(environ: Mapping[str, str], name: str, default: N, low: N, high: N, kind: type[N]) -> N:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _origins(raw: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _networks(name: str, raw: str) -> tuple[ProxyNetwork, ...]:
    networks = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {part!r} is not an IP address or network like 10.0.0.0/8") from None
    return tuple(networks)


_E164 = r"\+[1-9]\d{5,14}"


def _matching(name: str, raw: str | None, pattern: str, example: str) -> str | None:
    value = (raw or "").strip() or None
    if value is not None and not re.fullmatch(pattern, value):
        raise SettingsError(f"{name} must look like {example}, got {value!r}")
    return value


def _twilio_credentials(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    sid = _matching(
        "TWILIO_ACCOUNT_SID", env.get("TWILIO_ACCOUNT_SID"), r"AC[0-9a-fA-F]{32}", "AC + 32 hex digits"
    )
    token = (env.get("TWILIO_AUTH_TOKEN") or "").strip() or None
    if (sid is None) != (token is None):
        raise SettingsError(
            "set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (SMS and WhatsApp), or neither"
        )
    return sid, token


def _base_url(name: str, raw: str | None) -> str | None:
    value = _matching(name, raw, r"https?://[^/?#\s]+/?", "http://127.0.0.1:9000")
    return value.rstrip("/") if value else None


def _whatsapp_sender(raw: str | None) -> str | None:
    # Twilio addresses WhatsApp senders as "whatsapp:+E164"; the prefix is optional here.
    number = _matching(
        "LEADBOT_TWILIO_WHATSAPP_FROM", (raw or "").strip().removeprefix("whatsapp:"), _E164, "+14155238886"
    )
    return f"whatsapp:{number}" if number else None


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class EmailSettings:
    """The email channel (docs/channels.md): SMTP out, and the keys of the inbound webhook."""

    smtp_host: str
    from_address: str  # leads@example.com; replies come back to leads+<token>@example.com
    from_name: str = ""
    domain: str = ""  # outbound Message-IDs are <random@domain>
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    inbound_key: str | None = field(default=None, repr=False)  # ?key=… on the inbound URL (SendGrid)
    mailgun_signing_key: str | None = field(default=None, repr=False)
    inbound_insecure: bool = False  # development only: an inbound URL anyone may post to


_EMAIL_ONLY_VARIABLES = (
    "LEADBOT_EMAIL_FROM",
    "LEADBOT_EMAIL_DOMAIN",
    "LEADBOT_SMTP_USERNAME",
    "LEADBOT_SMTP_PASSWORD",
    "LEADBOT_EMAIL_INBOUND_KEY",
    "LEADBOT_MAILGUN_SIGNING_KEY",
)


def _email(env: Mapping[str, str]) -> EmailSettings | None:
    host = (env.get("LEADBOT_SMTP_HOST") or "").strip()
    if not host:
        # Email settings without an SMTP server would silently do nothing: say so instead.
        stray = [name for name in _EMAIL_ONLY_VARIABLES if env.get(name)]
        if stray:
            raise SettingsError(f"{stray[0]} is set but LEADBOT_SMTP_HOST is not; email needs both")
        return None
    name, address = parseaddr(env.get("LEADBOT_EMAIL_FROM") or "")
    local, _, domain = address.partition("@")
    if not local or not domain or "@" in domain or " " in address:
        raise SettingsError("LEADBOT_EMAIL_FROM must be an address such as 'Acme Sales <leads@example.com>'")
    if "+" in local:
        raise SettingsError(
            f"LEADBOT_EMAIL_FROM must not contain '+': replies go to {local.split('+')[0]}+<token>@{domain}"
        )
    username = env.get("LEADBOT_SMTP_USERNAME") or None
    password = env.get("LEADBOT_SMTP_PASSWORD") or None
    if (username is None) != (password is None):
        raise SettingsError("set both LEADBOT_SMTP_USERNAME and LEADBOT_SMTP_PASSWORD, or neither")
    message_domain = (env.get("LEADBOT_EMAIL_DOMAIN") or domain).strip().lower()
    if not message_domain or any(c in message_domain for c in " <>@"):
        raise SettingsError(f"LEADBOT_EMAIL_DOMAIN must be a domain name, got {message_domain!r}")
    return EmailSettings(
        smtp_host=host,
        from_address=address.lower(),
        from_name=name.strip(),
        domain=message_domain,
        smtp_port=_number(env, "LEADBOT_SMTP_PORT", 587, 1, 65535, int),
        smtp_username=username,
        smtp_password=password,
        smtp_starttls=_flag(env, "LEADBOT_SMTP_STARTTLS", True),
        inbound_key=env.get("LEADBOT_EMAIL_INBOUND_KEY") or None,
        mailgun_signing_key=env.get("LEADBOT_MAILGUN_SIGNING_KEY") or None,
        inbound_insecure=_flag(env, "LEADBOT_EMAIL_INBOUND_INSECURE", False),
    )


# What a message may carry by default (LEADBOT_ATTACHMENT_TYPES): pictures, PDFs, plain text.
DEFAULT_ATTACHMENT_TYPES: frozenset[str] = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)
# Attachments are kept in the database, one document each: MongoDB's 16 MB document limit.
MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024


def _content_types(raw: str | None) -> frozenset[str]:
    if raw is None or not raw.strip():
        return DEFAULT_ATTACHMENT_TYPES
    types = frozenset(t.strip().lower() for t in raw.split(",") if t.strip())
    for kind in types:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*", kind):
            raise SettingsError(f"LEADBOT_ATTACHMENT_TYPES: {kind!r} is not a media type like image/png")
    return types


@dataclass(frozen=True)
class Rate:
    """At most `limit` uses in any `window_seconds` (a sliding window: bot/rate_limits.py)."""

    limit: int
    window_seconds: float


_RATE_UNITS: dict[str, float] = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# Each use inside the window is remembered (one Redis sorted-set entry per key and use): a
# ceiling keeps a mistyped limit from costing memory; above it, 0 (no limit) is the honest choice.
MAX_RATE_LIMIT = 10_000


def _rate(env: Mapping[str, str], name: str, default: Rate | None) -> Rate | None:
    """A limit written N/second, N/minute or N/hour; 0 (or 0/…) turns it off."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw == "0":
        return None
    found = re.fullmatch(r"(\d+)\s*/\s*(second|minute|hour)s?", raw)
    if found is None:
        raise SettingsError(
            f"{name} must look like 20/minute (N per second, minute or hour) or 0, got {raw!r}"
        )
    limit = int(found.group(1))
    if limit > MAX_RATE_LIMIT:
        raise SettingsError(
            f"{name} must allow at most {MAX_RATE_LIMIT} per window (or 0: no limit), got {limit}"
        )
    return Rate(limit, _RATE_UNITS[found.group(2)]) if limit else None


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", ".")) / ".local" / "share")
    return Path(base) / "leadbot"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: Path(".leadbot"))
    mongodb_uri: str | None = None  # None → the embedded store under data_dir
    database: str = "leadbot"
    api_token: str | None = None  # None → generated once and kept in data_dir
    allowed_origins: frozenset[str] = frozenset()
    flows_dir: Path | None = None  # None → the flows shipped with the package
    default_flow: str = "default"
    max_message_chars: int = 4000
    snapshot_seconds: float = 2.0  # embedded store: how often unsaved changes are written to disk
    public_url: str | None = None
    session_idle_hours: float = 8.0  # an inbox session ends after this long unused …
    session_max_days: float = 7.0  # … and after this long in any case
    offer_timeout_seconds: float = 60.0  # an agent has this long to accept an offered conversation
    email: EmailSettings | None = None  # None → no email channel (LEADBOT_SMTP_HOST unset)
    trusted_proxies: tuple[ProxyNetwork, ...] = ()  # peers whose X-Forwarded-Proto/Host are believed
    # SMS and WhatsApp through Twilio (docs/channels.md): on when both credentials are set.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_sms_from: str | None = None  # a number, short code or sender id …
    twilio_messaging_service_sid: str | None = None  # … or a Messaging Service's sender pool
    twilio_whatsapp_from: str | None = None  # "whatsapp:+14155238886"
    twilio_api_url: str | None = None  # None: Twilio's own API; else a stand-in's base URL
    # Attachments (docs/channels.md): anything larger, or of another type, is not kept.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: frozenset[str] = DEFAULT_ATTACHMENT_TYPES
    attachment_secret: str | None = field(default=None, repr=False)  # None → generated, in data_dir
    log_format: LogFormat = "text"  # "json": one JSON object per line, with the conversation id
    log_level: LogLevel = "info"  # "debug" also shows what libraries (the twilio SDK …) log at INFO
    store_timeout_seconds: float = 10.0  # MongoDB: an operation not done by then fails (503, retry)
    shutdown_drain_seconds: float = 2.0  # readiness fails this long before sockets close
    redis_url: str | None = field(default=None, repr=False)  # None: one process, nothing shared
    metrics_token: str | None = field(default=None, repr=False)  # None: /metrics needs no token
    # Rate limits (docs/protocol.md), shared through Redis when there is one; None: no limit.
    limit_new_conversations: Rate | None = Rate(60, 3600.0)  # widget conversations per client address
    limit_messages: Rate | None = Rate(30, 60.0)  # visitor messages per widget conversation
    limit_logins: Rate | None = Rate(20, 60.0)  # sign-in attempts per client address
    llm: LlmConfig | None = None  # LLM mode (docs/llm.md); None: offline understanding and texts
    retention_days: int | None = None  # conversations idle this long are removed; None: kept forever

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = env.get("LEADBOT_DATA_DIR")
        flows_dir = env.get("LEADBOT_FLOWS_DIR")
        twilio_sid, twilio_token = _twilio_credentials(env)
        return cls(
            host=env.get("LEADBOT_HOST", "127.0.0.1"),
            port=_number(env, "LEADBOT_PORT", 8080, 0, 65535, int),
            data_dir=Path(data_dir) if data_dir else _default_data_dir(env),
            mongodb_uri=env.get("MONGODB_URI") or None,
            database=env.get("LEADBOT_DATABASE", "leadbot"),
            api_token=env.get("LEADBOT_API_TOKEN") or None,
            allowed_origins=_origins(env.get("LEADBOT_ALLOWED_ORIGINS", "")),
            flows_dir=Path(flows_dir) if flows_dir else None,
            default_flow=env.get("LEADBOT_DEFAULT_FLOW", "default"),
            max_message_chars=_number(env, "LEADBOT_MAX_MESSAGE_CHARS", 4000, 1, 100_000, int),
            snapshot_seconds=_number(env, "LEADBOT_SNAPSHOT_SECONDS", 2.0, 0.05, 3600.0, float),
            public_url=(env.get("LEADBOT_PUBLIC_URL") or "").rstrip("/") or None,
            session_idle_hours=_number(env, "LEADBOT_SESSION_IDLE_HOURS", 8.0, 0.01, 24.0 * 30, float),
            session_max_days=_number(env, "LEADBOT_SESSION_MAX_DAYS", 7.0, 0.01, 365.0, float),
            offer_timeout_seconds=_number(env, "LEADBOT_OFFER_TIMEOUT", 60.0, 1.0, 3600.0, float),
            email=_email(env),
            trusted_proxies=_networks("LEADBOT_TRUSTED_PROXIES", env.get("LEADBOT_TRUSTED_PROXIES", "")),
            twilio_account_sid=twilio_sid,
            twilio_auth_token=twilio_token,
            twilio_sms_from=_matching(
                "LEADBOT_TWILIO_SMS_FROM",
                env.get("LEADBOT_TWILIO_SMS_FROM"),
                rf"{_E164}|\d{{3,8}}|[A-Za-z0-9 ]{{1,11}}",  # a number, a short code or a sender id
                "+15005550006",
            ),
            twilio_messaging_service_sid=_matching(
                "LEADBOT_TWILIO_MESSAGING_SERVICE_SID",
                env.get("LEADBOT_TWILIO_MESSAGING_SERVICE_SID"),
                r"MG[0-9a-fA-F]{32}",
                "MG + 32 hex digits",
            ),
            twilio_whatsapp_from=_whatsapp_sender(env.get("LEADBOT_TWILIO_WHATSAPP_FROM")),
            twilio_api_url=_base_url("LEADBOT_TWILIO_API_URL", env.get("LEADBOT_TWILIO_API_URL")),
            attachment_max_bytes=_number(
                env, "LEADBOT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, 1, MAX_ATTACHMENT_BYTES, int
            ),
            attachment_types=_content_types(env.get("LEADBOT_ATTACHMENT_TYPES")),
            attachment_secret=env.get("LEADBOT_ATTACHMENT_SECRET") or None,
            log_format=_log_format(env.get("LEADBOT_LOG_FORMAT")),
            log_level=_log_level(env.get("LEADBOT_LOG_LEVEL")),
            store_timeout_seconds=_number(env, "LEADBOT_STORE_TIMEOUT_SECONDS", 10.0, 0.1, 300.0, float),
            shutdown_drain_seconds=_number(env, "LEADBOT_SHUTDOWN_DRAIN_SECONDS", 2.0, 0.0, 300.0, float),
            redis_url=_redis_url(env.get("LEADBOT_REDIS_URL")),
            metrics_token=env.get("LEADBOT_METRICS_TOKEN") or None,
            limit_new_conversations=_rate(
                env, "LEADBOT_LIMIT_NEW_CONVERSATIONS", cls.limit_new_conversations
            ),
            limit_messages=_rate(env, "LEADBOT_LIMIT_MESSAGES", cls.limit_messages),
            limit_logins=_rate(env, "LEADBOT_LIMIT_LOGINS", cls.limit_logins),
            llm=_llm(env),
            # 0 (the unset default) means no retention period; a value given must be 1 or more.
            retention_days=_number(env, "LEADBOT_RETENTION_DAYS", 0, 1, 36_500, int) or None,
        )

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None


def _llm(env: Mapping[str, str]) -> LlmConfig | None:
    # Imported here: bot.llm.config reports its errors as this module's SettingsError.
    from bot.llm.config import LlmConfig

    return LlmConfig.from_env(env)


def _redis_url(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"(?:rediss?|unix)://\S+", value):
        raise SettingsError(
            f"LEADBOT_REDIS_URL must be a redis:// (or rediss://, unix://) URL, got {value!r}"
        )
    return value


def _log_format(raw: str | None) -> LogFormat:
    value = (raw or "text").strip().lower()
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise SettingsError(f"LEADBOT_LOG_FORMAT must be text or json, got {raw!r}")


def _log_level(raw: str | None) -> LogLevel:
    value = (raw or "info").strip().lower()
    for level in ("debug", "info", "warning", "error"):
        if value == level:
            return level
    raise SettingsError(f"LEADBOT_LOG_LEVEL must be debug, info, warning or error, got {raw!r}")
