"""Twilio's settings and the flow's `whatsapp` section: read, normalised, and refused with a clear message."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
import yaml

from bot.assets import flows_dir
from bot.flows import FlowError, TemplateValueMissing, parse_flow
from bot.settings import Settings, SettingsError

SID = "AC" + "0123456789abcdef" * 2


def test_twilio_is_off_until_both_credentials_are_set() -> None:
    assert not Settings.from_env({}).twilio_enabled
    settings = Settings.from_env(
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "LEADBOT_TWILIO_SMS_FROM": "+15005550006",
            "LEADBOT_TWILIO_WHATSAPP_FROM": "+14155238886",
            "LEADBOT_TWILIO_API_URL": "http://127.0.0.1:9000/",
            "LEADBOT_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,, ::1",
        }
    )
    assert settings.twilio_enabled
    assert settings.twilio_whatsapp_from == "whatsapp:+14155238886"  # the prefix is added
    assert settings.twilio_api_url == "http://127.0.0.1:9000"
    assert settings.trusted_proxies == (
        ip_network("10.0.0.0/8"),
        ip_network("192.168.1.7/32"),
        ip_network("::1/128"),
    )
    assert "secret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": SID}, "set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "secret"}, "set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": "SK123", "TWILIO_AUTH_TOKEN": "x"}, "TWILIO_ACCOUNT_SID must look like AC"),
        (
            {"LEADBOT_TWILIO_SMS_FROM": "(415) 555-0100"},
            "LEADBOT_TWILIO_SMS_FROM must look like +15005550006",
        ),
        (
            {"LEADBOT_TWILIO_WHATSAPP_FROM": "whatsapp:4155238886"},
            "LEADBOT_TWILIO_WHATSAPP_FROM must look like",
        ),
        (
            {"LEADBOT_TWILIO_MESSAGING_SERVICE_SID": "MG12"},
            "LEADBOT_TWILIO_MESSAGING_SERVICE_SID must look like MG",
        ),
        ({"LEADBOT_TWILIO_API_URL": "127.0.0.1:9000"}, "LEADBOT_TWILIO_API_URL must look like http://"),
        (
            {"LEADBOT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"},
            "LEADBOT_TRUSTED_PROXIES: 'proxy.local' is not",
        ),
    ],
)
def test_bad_twilio_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as bad:
        Settings.from_env(env)
    assert str(bad.value).startswith(message), str(bad.value)


def default_flow_with(whatsapp: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    data["whatsapp"] = whatsapp
    return data


def test_the_whatsapp_section_fills_the_template_from_the_lead() -> None:
    variables = {"1": "{name|there}", "2": "Re: {need}", "3": "{company}"}
    flow = parse_flow(default_flow_with({"template_sid": "HX" + "a" * 32, "variables": variables}))
    assert flow.whatsapp is not None
    filled = flow.whatsapp.render({"need": "a CRM\nfor  sales", "company": "Acme"})
    assert filled == {"1": "there", "2": "Re: a CRM for sales", "3": "Acme"}
    with pytest.raises(TemplateValueMissing, match="needs the lead's company"):
        flow.whatsapp.render({"need": "a CRM"})


@pytest.mark.parametrize(
    ("whatsapp", "message"),
    [
        ({"variables": {"1": "{name}"}}, "whatsapp.template_sid: Field required"),
        ({"template_sid": "HX123"}, "whatsapp.template_sid: String should match pattern"),
        ({"template_sid": "HX" + "a" * 32, "variables": {"1": "{shoe_size}"}}, "unknown slot 'shoe_size'"),
        ({"template_sid": "HX" + "a" * 32, "variables": {"1": "{Name}"}}, "write placeholders as {slot}"),
        ({"template_sid": "HX" + "a" * 32, "variables": {"one two": "{name}"}}, "variable 'one two'"),
        ({"template_sid": "HX" + "a" * 32, "colour": "green"}, "whatsapp.colour: Extra inputs"),
    ],
)
def test_a_bad_whatsapp_section_is_refused_naming_the_field(whatsapp: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowError) as bad:
        parse_flow(default_flow_with(whatsapp), "flows/default.yaml")
    assert message in str(bad.value), str(bad.value)
