"""Which requests the server dispatches on its event loop."""

from bot.slack.listeners.labels import is_click


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
