"""Which requests the server dispatches on its event loop; a click in a database outage."""

from contextlib import contextmanager

import pytest

from bot.slack.listeners.labels import is_click
from bot.slack.runtime import Runtime


def clicked(action_id: str, kind: str = "block_actions") -> dict:
    return {"type": kind, "actions": [{"action_id": action_id, "type": "button", "value": "x"}]}


def test_label_undo_and_skip_clicks_are_inline_work():
    assert is_click(clicked("label:billing"))
    assert is_click(clicked("label_select"))
    assert is_click(clicked("undo")) and is_click(clicked("skip"))


def test_anything_that_may_call_slack_goes_to_the_threads():
    assert not is_click(clicked("guidelines"))  # opens a modal: a Slack call before the ack
    assert not is_click(clicked("label:billing", kind="view_submission"))
    assert not is_click({"type": "block_actions", "actions": []})
    assert not is_click({"type": "block_actions", "actions": ["label:x"]})
    assert not is_click({"type": "block_actions", "actions": [{"action_id": 7}]})
    assert not is_click({"command": "/label", "text": "help"})


class _Unreachable:
    """The runtime's parts a click uses, with a database that fails as ``error`` says."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.authorizer = self

    outage = staticmethod(Runtime.outage)  # the real runtime's reading of a database error

    def project_of(self, item_id: int) -> object:
        return object()

    def label(self, project: object, user: str) -> object:
        return object()  # a permit

    @contextmanager
    def click(self):
        raise self.error
        yield


def test_a_click_in_a_database_outage_is_refused_with_an_answer_not_raised():
    from sqlalchemy.exc import IntegrityError, OperationalError

    from bot.labeling import LabelOutcome
    from bot.slack.listeners.labels import UNREACHABLE, _apply

    action = {"action_id": "label:billing", "type": "button", "value": "7:1"}
    down = OperationalError("SELECT 1", {}, Exception("connection refused"))
    result = _apply(_Unreachable(down), action, "U1", lambda *_: None)  # type: ignore[arg-type]
    assert result.kind == LabelOutcome.REFUSED and result.reason == UNREACHABLE
    bug = IntegrityError("INSERT", {}, Exception("duplicate key"))
    with pytest.raises(IntegrityError):  # not an outage: Bolt's error handling, as before
        _apply(_Unreachable(bug), action, "U1", lambda *_: None)  # type: ignore[arg-type]
