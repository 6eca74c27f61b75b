"""Telling Slack's failures apart: a missing scope says which one."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack.calls import Failure, classify


def error(data: dict, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={}, data=data, headers={}, status_code=status
    )
    return SlackApiError(str(data.get("error")), response)


def test_a_missing_scope_is_permanent_and_names_the_scope():
    exc = error(
        {"ok": False, "error": "missing_scope", "needed": "im:history", "provided": "chat:write,im:write"}
    )
    assert classify(exc) == Failure(
        "permanent", "missing_scope (needed: im:history; granted: chat:write,im:write)"
    )


def test_other_errors_keep_slacks_code():
    assert classify(error({"ok": False, "error": "not_in_channel"})) == Failure("permanent", "not_in_channel")
    assert classify(error({"ok": False, "error": "fatal_error"}, status=503)).kind == "ambiguous"
