"""What an endpoint receives: the presets against recorded HubSpot and Salesforce request shapes,
per-field overrides, the admin's mapping input, and the signature helpers receivers use."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.lead_events import LeadEvent
from bot.models import Conversation, FlowRef, Lead
from bot.webhooks.mapping import FieldMapping, MappingInvalid, parse_mapping, render
from bot.webhooks.payload import event_document
from bot.webhooks.sample import sample_document
from bot.webhooks.signing import SignatureError, sign, verify

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
AT = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)


def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())["request"]["body"]
    return body


def jane(**changes: Any) -> Lead:
    lead = Lead(
        id="lead-1",
        slots={
            "need": "lead routing for our sales team",
            "company": "Acme Inc",
            "team_size": 40,
            "budget_monthly": 8000,
            "timeline": "immediate",
            "decision_maker": True,
            "name": "Jane Doe",
            "email": "jane.doe@acme.example",
            "phone": "+14155550100",
        },
        score=90,
        grade="A",
        temperature="hot",
        status="qualified",
        score_reasons=["budget_monthly ≥ 5000: +30"],
        conversation_ids=["conv-1"],
        created_at=AT,
        updated_at=AT,
    )
    return lead.model_copy(update=changes)


def conversation(channel: str = "web") -> Conversation:
    return Conversation(
        id="conv-1",
        channel=channel,
        flow=FlowRef(id="default", version=3),
        lead_id="lead-1",
        mode="pending_human",
        handoff_reason="qualified",
        team="sales",
        created_at=AT,
        updated_at=AT,
    )


def document(lead: Lead, conv: Conversation | None, kind: str = "lead.qualified") -> dict[str, Any]:
    event = LeadEvent(kind=kind, at=AT, lead=lead, conversation=conv, details={"score": lead.score})  # type: ignore[arg-type]
    return event_document("event-1", event)


def test_the_hubspot_preset_is_the_recorded_contacts_request_body() -> None:
    body = render(FieldMapping(preset="hubspot_contact"), document(jane(), conversation()))
    assert body == recorded("hubspot_contact.json")


def test_the_salesforce_preset_is_the_recorded_lead_sobject() -> None:
    body = render(FieldMapping(preset="salesforce_lead"), document(jane(), conversation()))
    assert body == recorded("salesforce_lead.json")


def test_salesforce_gets_its_required_fields_even_when_the_lead_gave_neither_name_nor_company() -> None:
    lead = Lead(id="lead-2", slots={"email": "sam@example.org"}, score=5, status="engaged", created_at=AT)
    body = render(FieldMapping(preset="salesforce_lead"), document(lead, conversation("sms"), "lead.updated"))
    assert body == recorded("salesforce_lead_minimal.json")


def test_a_one_word_name_is_salesforces_last_name_and_hubspots_first_name() -> None:
    doc = document(jane(slots={"name": "Cher", "email": "cher@example.com"}), None)
    salesforce = render(FieldMapping(preset="salesforce_lead"), doc)
    assert salesforce["LastName"] == "Cher" and "FirstName" not in salesforce
    assert "LeadSource" not in salesforce  # no conversation: where the lead came from is unknown
    hubspot = render(FieldMapping(preset="hubspot_contact"), doc)["properties"]
    assert hubspot["firstname"] == "Cher" and "lastname" not in hubspot


@pytest.mark.parametrize(
    ("status", "lead_status", "lifecycle", "salesforce_status"),
    [
        ("engaged", "NEW", "lead", "Open - Not Contacted"),
        ("converted", "OPEN_DEAL", "customer", "Closed - Converted"),
        ("lost", "UNQUALIFIED", "other", "Closed - Not Converted"),
    ],
)
def test_lead_statuses_become_the_crms_own_values(
    status: str, lead_status: str, lifecycle: str, salesforce_status: str
) -> None:
    doc = document(jane(status=status), conversation())
    hubspot = render(FieldMapping(preset="hubspot_contact"), doc)["properties"]
    assert (hubspot["hs_lead_status"], hubspot["lifecyclestage"]) == (lead_status, lifecycle)
    assert render(FieldMapping(preset="salesforce_lead"), doc)["Status"] == salesforce_status


def test_the_leadbot_body_is_the_documented_event() -> None:
    body = render(FieldMapping(), document(jane(), conversation()))
    assert set(body) == {"id", "kind", "occurred_at", "lead", "conversation", "details"}
    assert body["id"] == "event-1" and body["kind"] == "lead.qualified"
    assert body["occurred_at"] == "2025-01-06T09:30:00+00:00"
    assert body["lead"]["slots"]["company"] == "Acme Inc" and body["lead"]["score"] == 90
    assert body["conversation"]["channel"] == "web" and body["conversation"]["flow"] == {
        "id": "default",
        "version": 3,
    }
    assert "state" not in body["conversation"] and "messages" not in body["conversation"]
    assert body["details"] == {"score": 90}
    json.dumps(body)  # plain JSON throughout


def test_overrides_add_fields_from_the_event_or_constants_and_can_remove_preset_fields() -> None:
    mapping = parse_mapping(
        {
            "preset": "hubspot_contact",
            "overrides": {
                "properties.leadbot_score": {"from": "lead.score"},
                "properties.leadbot_event": {"from": "kind"},
                "properties.hs_lead_status": {"value": "IN_PROGRESS"},
                "properties.company": {"from": "lead.slots.no_such_slot"},
                "properties.leadbot_channel": {"from": "conversation.channel"},
            },
        }
    )
    body = render(mapping, document(jane(), conversation("whatsapp")))["properties"]
    assert body["leadbot_score"] == 90 and body["leadbot_event"] == "lead.qualified"
    assert body["hs_lead_status"] == "IN_PROGRESS" and body["leadbot_channel"] == "whatsapp"
    assert "company" not in body  # its source has no value: left out, not sent empty
    assert parse_mapping(mapping.as_json()) == mapping  # what is stored reads back the same


def test_a_salesforce_custom_field_override() -> None:
    mapping = parse_mapping(
        {
            "preset": "salesforce_lead",
            "overrides": {"Leadbot_Id__c": {"from": "lead.id"}, "LeadSource": {"value": "Chat"}},
        }
    )
    body = render(mapping, document(jane(), conversation()))
    assert body["Leadbot_Id__c"] == "lead-1" and body["LeadSource"] == "Chat"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ("hubspot", "mapping", "object"),
        ({"preset": "pipedrive"}, "mapping.preset", "leadbot, hubspot_contact, salesforce_lead"),
        ({"preset": "leadbot", "extra": 1}, "mapping", "unknown mapping field 'extra'"),
        ({"overrides": []}, "mapping.overrides", "target field"),
        ({"overrides": {"x y": {"value": 1}}}, "mapping.overrides.x y", "dotted path"),
        ({"overrides": {"Company": "lead.slots.company"}}, "mapping.overrides.Company", '{"from"'),
        (
            {"overrides": {"Company": {"from": "leads.slots.company"}}},
            "mapping.overrides.Company",
            "start with",
        ),
        ({"overrides": {"Company": {"from": "lead..x"}}}, "mapping.overrides.Company", "dotted path"),
        ({"overrides": {"Company": {"value": {"a": 1}}}}, "mapping.overrides.Company", "constant"),
        ({"overrides": {"Company": {"from": "lead.id", "value": 1}}}, "mapping.overrides.Company", '{"from"'),
    ],
)
def test_bad_mapping_input_says_where_and_why(raw: Any, field: str, words: str) -> None:
    with pytest.raises(MappingInvalid) as caught:
        parse_mapping(raw)
    assert caught.value.field == field and words in caught.value.message


# -- signing ------------------------------------------------------------------------------

SECRET = "whsec_test"
BODY = b'{"kind":"lead.created"}'


def test_a_signature_verifies_with_its_secret_and_body() -> None:
    header = sign(SECRET, BODY, AT)
    assert header.startswith(f"t={int(AT.timestamp())},v1=")
    assert verify(SECRET, header, BODY, AT + timedelta(seconds=30)) == int(AT.timestamp())
    assert verify(SECRET, header, BODY.decode(), AT.timestamp()) == int(AT.timestamp())  # text and floats too


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body() -> None:
    timestamp = int(AT.timestamp())
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, AT) == f"t={timestamp},v1={expected}"


@pytest.mark.parametrize("offset", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_timestamp_outside_the_replay_window_is_refused(offset: timedelta) -> None:
    header = sign(SECRET, BODY, AT)
    with pytest.raises(SignatureError, match="seconds from now"):
        verify(SECRET, header, BODY, AT + offset)
    assert verify(SECRET, header, BODY, AT + offset, tolerance=600)  # a wider window accepts it


@pytest.mark.parametrize(
    ("secret", "header", "body", "words"),
    [
        ("other", None, BODY, "no Leadbot-Signature header"),
        ("whsec_other", "SIGNED", BODY, "no signature matches"),
        (SECRET, "SIGNED", BODY + b" ", "no signature matches"),
        (SECRET, "v1=abc", BODY, "no t="),
        (SECRET, "t=now,v1=abc", BODY, "not whole unix seconds"),
        (SECRET, f"t={int(AT.timestamp())}", BODY, "no v1="),
    ],
)
def test_wrong_secrets_changed_bodies_and_malformed_headers_are_refused(
    secret: str, header: str | None, body: bytes, words: str
) -> None:
    given = sign(SECRET, BODY, AT) if header == "SIGNED" else header
    with pytest.raises(SignatureError, match=words):
        verify(secret, given, body, AT)


def test_during_a_rotation_either_secret_verifies() -> None:
    header = sign(["whsec_new", "whsec_old"], BODY, AT)
    assert header.count("v1=") == 2
    assert verify("whsec_new", header, BODY, AT) and verify("whsec_old", header, BODY, AT)
    with pytest.raises(SignatureError):
        verify("whsec_other", header, BODY, AT)


def test_overrides_change_the_body_never_the_event_document() -> None:
    """One event is rendered once per endpoint from one document: an endpoint whose overrides
    drop or replace a field of the leadbot body must not take it from the endpoints after it."""
    document = sample_document("event-1", AT)
    before = copy.deepcopy(document)
    hiding = parse_mapping(
        {
            "preset": "leadbot",
            "overrides": {
                "lead.slots.email": {"from": "details.nothing"},  # removed
                "lead.score": {"value": 0},
                "conversation.flow.id": {"value": "renamed"},
            },
        }
    )

    hidden = render(hiding, document)
    plain = render(FieldMapping(), document)

    assert "email" not in hidden["lead"]["slots"] and hidden["lead"]["score"] == 0
    assert hidden["conversation"]["flow"]["id"] == "renamed"
    assert document == before
    assert plain["lead"]["slots"]["email"] == "jane@example.com" and plain["lead"]["score"] == 85
    assert plain["conversation"]["flow"]["id"] != "renamed"
