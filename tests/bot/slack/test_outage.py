"""What a request gets when the database is unreachable (bot.slack.outage)."""

from __future__ import annotations

import json

from slack_bolt import BoltRequest
from sqlalchemy.exc import OperationalError

from bot.slack.outage import MODAL_NOTICE, NOTICE, answer_error, notice_call, outage_answer

OUTAGE = OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_a_command_is_answered_in_its_ack():
    assert outage_answer({"command": "/label", "text": "mine"}) == (
        {"response_type": "ephemeral", "text": NOTICE},
        False,
    )


def test_a_modal_stays_open_with_the_notice_on_its_first_input():
    view = {
        "blocks": [
            {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "input", "block_id": "reason", "element": {"type": "plain_text_input"}},
            {"type": "input", "block_id": "note", "element": {"type": "plain_text_input"}},
        ]
    }
    ack, tell = outage_answer({"type": "view_submission", "view": view})
    assert ack == {"response_action": "errors", "errors": {"reason": MODAL_NOTICE}} and not tell
    assert outage_answer({"type": "view_submission", "view": {"blocks": []}}) == (None, False)


def test_a_button_is_acked_and_told_where_slack_gave_a_response_url():
    assert outage_answer({"type": "block_actions", "response_url": "https://hooks.slack.com/x"}) == (
        None,
        True,
    )
    assert outage_answer({"type": "block_actions", "view": {"type": "home"}}) == (None, False)
    shortcut = {"type": "view_submission", "response_urls": []}
    assert outage_answer(shortcut) == (None, False)


def _request(body: dict) -> BoltRequest:
    return BoltRequest(body=body, mode="socket_mode")


def test_only_an_outage_is_answered_and_events_are_left_to_slack_to_redeliver():
    command = {"command": "/label", "text": "mine"}
    answered = answer_error(OUTAGE, command, _request(command))
    assert answered is not None and answered.status == 200 and NOTICE.split("*")[0] in answered.body
    assert answer_error(ValueError("a bug"), command, _request(command)) is None  # Bolt's 500
    event = {"type": "event_callback", "event": {"type": "message"}}
    assert answer_error(OUTAGE, event, _request(event)) is None


def test_a_button_of_a_home_or_a_modal_gets_the_notice_as_a_modal():
    home = {"type": "block_actions", "trigger_id": "1.2.abc", "view": {"type": "home"}}
    method, arguments = notice_call(home)
    assert method == "views.open" and arguments["trigger_id"] == "1.2.abc"
    assert NOTICE in json.dumps(arguments["view"]) and arguments["view"]["type"] == "modal"
    assert notice_call({**home, "view": {"type": "modal"}})[0] == "views.push"  # what was typed stays
    assert notice_call({**home, "trigger_id": None}) is None  # nothing to open it with
    assert notice_call({"type": "block_actions", "response_url": "https://hooks.slack.com/x"}) is None
