"""The metrics registry: counters by label, a queue-depth read that fails leaves the scrape whole,
and the Web API client counts its calls by method and its failures by Slack's error."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.slack.app import make_client
from bot.slack.emulator import SlackEmulator
from bot.slack.metrics import METRICS, Metrics
from bot.slack.runtime import _ids
from tests.app_manifest import BOT_SCOPES


def names(metrics: Metrics) -> set[str]:
    return {f.name for f in text_string_to_metric_families(metrics.exposition().decode())}


def test_every_metric_is_exposed_under_the_labelbot_prefix():
    metrics = Metrics()
    assert names(metrics) == {
        "labelbot_ack_seconds",
        "labelbot_labels_recorded",
        "labelbot_slack_calls",
        "labelbot_slack_api_errors",
        "labelbot_item_claims",
        "labelbot_dispatch_lag_seconds",
        "labelbot_training_seconds",
        "labelbot_queue_depth",
        "labelbot_live_leases",
    }


def test_labels_are_counted_per_project():
    metrics = Metrics()
    for project in ("a", "b", "a"):
        metrics.label_recorded(project)
    assert metrics.value("labelbot_labels_recorded_total", {"project": "a"}) == 2
    assert metrics.value("labelbot_labels_recorded_total", {"project": "b"}) == 1


def test_a_failing_queue_read_leaves_the_rest_of_the_scrape(caplog):
    metrics = Metrics()
    metrics.watch_queue(lambda: {"support": 4})
    assert metrics.value("labelbot_queue_depth", {"project": "support"}) == 4

    def broken() -> dict[str, int]:
        raise OSError("database gone")

    metrics.watch_queue(broken)
    metrics.label_recorded("support")
    text = metrics.exposition().decode()
    assert "labelbot_labels_recorded_total" in text and 'labelbot_queue_depth{project="support"}' not in text
    assert "reading labelbot_queue_depth" in caplog.text


@pytest.fixture
def slack():
    emu = SlackEmulator(bot_scopes=BOT_SCOPES).start()
    emu.add_channel("C1", "c", members=["UBOT"])
    yield emu
    emu.stop()


def test_web_api_calls_are_counted_by_method_and_error(slack):
    client = make_client(
        Settings.from_env({"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url}), retries=False
    )
    posted = METRICS.value("labelbot_slack_calls_total", {"method": "chat.postMessage"})
    missing = {"method": "chat.postMessage", "error": "channel_not_found"}
    refused = METRICS.value("labelbot_slack_api_errors_total", missing)
    client.chat_postMessage(channel="C1", text="hello")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0NOWHERE", text="hello")
    assert METRICS.value("labelbot_slack_calls_total", {"method": "chat.postMessage"}) == posted + 1
    assert METRICS.value("labelbot_slack_api_errors_total", missing) == refused + 1


def test_a_failed_answers_log_line_names_its_user_and_event():
    body = {"user": {"id": "U1"}, "event_id": "Ev1", "actions": []}
    assert _ids(("responder", body, {"action_id": "x"})) == {"user": "U1", "event_id": "Ev1"}
    assert _ids(("nothing",)) == {}
