"""The Bolt helpers ``bot/slack/bolt_compat.py`` relies on, held to what the transport needs: a Bolt
upgrade that moves or changes them fails here, not in production."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import slack_bolt
from slack_bolt import BoltResponse

from bot.slack import bolt_compat


def test_bolt_is_the_major_version_the_helpers_were_checked_against():
    assert slack_bolt.version.__version__.split(".")[0] == "1"


def test_parse_body_reads_forms_and_json():
    payload = {"type": "block_actions", "actions": [{"action_id": "label:bug"}]}
    form = urlencode({"payload": json.dumps(payload)})
    assert bolt_compat.parse_body(form, "application/x-www-form-urlencoded") == payload
    assert bolt_compat.parse_body(json.dumps({"a": 1}), "application/json") == {"a": 1}
    assert bolt_compat.parse_body("command=%2Flabel&text=help", None) == {"command": "/label", "text": "help"}


def test_headers_are_normalized_and_the_content_type_read():
    headers = bolt_compat.build_normalized_headers(
        {"Content-Type": "application/json; charset=utf-8", "X-A": "1"}
    )
    assert headers["content-type"] == ["application/json; charset=utf-8"] and headers["x-a"] == ["1"]
    assert bolt_compat.extract_content_type(headers) == "application/json"


def test_a_bolt_response_becomes_a_starlette_response():
    response = bolt_compat.to_starlette_response(
        BoltResponse(status=200, body='{"ok": true}', headers={"content-type": "application/json"})
    )
    assert response.status_code == 200 and response.body == b'{"ok": true}'
    assert response.headers["content-type"].startswith("application/json")
