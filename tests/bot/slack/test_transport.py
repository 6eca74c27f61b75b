"""The HTTP edge: request bodies parsed as Bolt parses them, requests built as its adapter builds them."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_bolt.adapter.starlette.handler import to_bolt_request as bolt_adapter_request
from slack_bolt.request.internals import parse_body
from starlette.requests import Request

from bot.slack.emulator import payloads
from bot.slack.transport import parse_form_body, to_bolt_request

FORM = "application/x-www-form-urlencoded"


def click_payload(text: str = 'refund + invoice 100% \\ "quoted" ünïcödé 🚀') -> dict:
    ctx = payloads.AppContext()
    message = {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    return payloads.block_actions(
        ctx,
        user_id="U0ANN1",
        user_name="ann1",
        actions=[{"action_id": "label:bug", "block_id": "labels:7.1", "value": "7.1", "type": "button"}],
        trigger_id="1.2.abc",
        container={"type": "message", "message_ts": "1.000001", "channel_id": "C1", "is_ephemeral": False},
        channel={"id": "C1", "name": "labeling"},
        message=message,
        state_values={},
        response_url="https://hooks.slack.com/actions/T0001/1/secret",
    )


def form(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (form(click_payload()), FORM),
        (form(click_payload()), None),
        (form(click_payload("plain")).replace("%20", "+"), FORM),  # spaces as '+', as browsers send
        ("payload=" + quote(json.dumps(click_payload()), safe=""), FORM),  # every reserved char escaped
        ("payload=" + quote(json.dumps({"a": "100%"}), safe='{}":,'), FORM),
        ("payload=%7B%22a%22%3A%22%5C%5Cx41%22%7D", FORM),  # an escaped backslash before 'x41'
        ('payload={"a":"\\\\x41"}', FORM),  # a raw backslash before 'x41'
        ("payload=%7B%22a%22%3A%22%zz%22%7D", FORM),  # an invalid escape: left as is
        ('payload={"a":"%E9"}', FORM),  # an escape that is not UTF-8: replaced
        ('payload={"a":"%ED%A0%80"}', FORM),  # an encoded surrogate
        ('payload={"a":"é"}', FORM),  # not percent-encoded at all
        ("token=x&team_id=T1&command=%2Flabel&text=stats+support&response_url=https%3A%2F%2Fh%2Fx", FORM),
        ("payload=" + quote(json.dumps({"a": 1})) + "&extra=1", FORM),
        ('{"type": "event_callback", "event": {"type": "app_home_opened"}}', "application/json"),
        ('{"type": "url_verification", "challenge": "c"}', None),
        ("", FORM),
    ],
)
def test_bodies_parse_as_bolt_parses_them(raw, content_type):
    assert parse_form_body(raw, content_type) == parse_body(raw, content_type)


@given(st.text())
def test_any_text_in_a_payload_survives(text):
    raw = form(click_payload(text))
    assert parse_form_body(raw, FORM) == parse_body(raw, FORM)


@given(st.text(alphabet='%+\\"xuE9DA0 a{}'))
def test_escapes_in_any_order_read_as_bolt_reads_them(inside):
    raw = f'payload="{inside}"'  # a JSON string of percent escapes, pluses, backslashes, quotes
    try:
        expected = parse_body(raw, FORM)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            parse_form_body(raw, FORM)
        return
    assert parse_form_body(raw, FORM) == expected


def starlette_request(body: bytes, headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/slack/events",
        "query_string": b"a=1",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


def test_requests_are_built_as_bolts_adapter_builds_them():
    body = form(click_payload()).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Slack-Request-Timestamp": "1700000000",
        "X-Slack-Signature": "v0=abc",
    }
    ours = to_bolt_request(starlette_request(body, headers), body.decode())
    bolts = bolt_adapter_request(starlette_request(body, headers), body)
    assert ours.mode == bolts.mode == "http"
    assert ours.raw_body == bolts.raw_body  # what the signature is checked over
    assert ours.body == bolts.body
    assert ours.headers == bolts.headers and ours.query == bolts.query
    assert ours.content_type == bolts.content_type
    assert dict(ours.context) == dict(bolts.context)
    assert ours.to_copyable().body == bolts.body  # lazy listeners re-read the raw body
