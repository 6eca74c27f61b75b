"""The lazy halves of modal submissions: after a refusal there is nothing to send, and no error."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

from bot.slack.listeners import audits, decisions, submissions
from bot.slack.listeners.routes import Reply


class NoClient:
    def __getattr__(self, name):
        raise AssertionError(f"no Slack call expected, got {name}")


def test_after_a_refusal_the_lazy_halves_send_nothing_and_log_nothing(caplog):
    with caplog.at_level(logging.DEBUG):
        submissions.update_messages(NoClient(), BoltContext({}))
        decisions.send_decision(NoClient(), None, BoltContext({}))
        audits.send_result(NoClient(), None, BoltContext({}))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_reply_sends_its_updates_then_its_notice():
    calls = []

    class Client:
        def chat_update(self, **kwargs):
            calls.append(("update", kwargs["channel"], kwargs["ts"]))

    def respond(**kwargs):
        calls.append(("respond", kwargs["response_type"], kwargs["text"]))

    Reply(updates=(submissions.Update("C1", "1.1", {"text": "t", "blocks": []}),), ephemeral="hi").send(
        Client(), respond
    )
    assert calls == [("update", "C1", "1.1"), ("respond", "ephemeral", "hi")]
