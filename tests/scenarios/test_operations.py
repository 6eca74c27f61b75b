"""Operations end to end: /metrics, /readyz and /healthz of a serving bot, the websocket's state
in Socket Mode, and the listener clients' rate-limit policy before and after the ack."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from bot.settings import Settings
from bot.slack.app import make_client
from storage.db import make_engine
from tests.scenarios.conftest import CHANNEL, wait_items

ITEMS = [{"id": f"t-{n}", "text": f"ticket {n}", "language": "en"} for n in range(12)]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(f"{url}/metrics", timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_the_bot_does(bot, slack):
    bot.configure(max_open=10)
    bot.import_items(ITEMS)
    bot.start()
    messages = wait_items(slack, 10)
    slack.wait_for(lambda: value(scrape(bot.url), "labelbot_queue_depth", project="support") == 2, timeout=15)
    before = scrape(bot.url)
    assert value(before, "labelbot_item_claims_total", project="support") >= 10
    assert value(before, "labelbot_slack_calls_total", method="chat.postMessage") >= 10
    assert value(before, "labelbot_dispatch_lag_seconds_count") >= 10

    assert slack.click("U0ANN1", CHANNEL, messages[0]["ts"], "label:billing").status == 200
    assert slack.click("U0ANN2", CHANNEL, messages[0]["ts"], "skip").status == 200
    slack.wait_for(lambda: len(slack.ephemerals(user="U0ANN1")) >= 1, timeout=10)
    scrape_later = scrape(bot.url)
    recorded = "labelbot_labels_recorded_total"
    assert value(scrape_later, recorded, project="support") == value(before, recorded, project="support") + 1
    clicks = "labelbot_ack_seconds_count"
    assert value(scrape_later, clicks, kind="click") == value(before, clicks, kind="click") + 2
    # Slack's 3 s deadline is the last bucket that matters: both clicks were acked well within it.
    assert value(scrape_later, "labelbot_ack_seconds_bucket", kind="click", le="3.0") == value(
        scrape_later, clicks, kind="click"
    )
    answered = value(scrape_later, "labelbot_slack_calls_total", method="response_url")
    assert answered >= value(before, "labelbot_slack_calls_total", method="response_url") + 1

    assert httpx.get(f"{bot.url}/healthz").json() == {"ok": True, "mode": "http", "role": "all"}
    assert httpx.get(f"{bot.url}/readyz").json() == {"ok": True}


def test_readyz_names_an_outdated_schema_while_healthz_stays_up(bot, slack, database_url):
    bot.start(background=False)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        ready = httpx.get(f"{bot.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["ok"] is False
        assert "run labelbot db upgrade" in ready.json()["not_ready"]["schema"]
        assert "password" not in ready.text and database_url not in ready.text
        assert httpx.get(f"{bot.url}/healthz").status_code == 200  # alive: not a reason to restart it
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        assert httpx.get(f"{bot.url}/readyz").json() == {"ok": True}
    finally:
        engine.dispose()


def test_socket_mode_health_follows_the_websocket(socket_bot, slack):
    bot = socket_bot
    bot.start()
    assert httpx.get(f"{bot.url}/healthz").json()["socket"] == "connected"
    assert httpx.get(f"{bot.url}/readyz").json() == {"ok": True}
    # The websocket drops and cannot come back while Slack refuses new connections.
    slack.fail_for(60, 500, methods=["apps.connections.open"])
    slack.close_socket()
    deadline = time.monotonic() + 30
    while httpx.get(f"{bot.url}/healthz").status_code != 503:
        assert time.monotonic() < deadline, "healthz still says OK with the websocket down"
        time.sleep(0.1)
    down = httpx.get(f"{bot.url}/readyz")
    assert down.status_code == 503 and "socket" in down.json()["not_ready"]
    assert httpx.get(f"{bot.url}/healthz").json()["socket"] == "disconnected"
    slack.stop_failing()
    slack.wait_for_socket(timeout=60)
    deadline = time.monotonic() + 30
    while httpx.get(f"{bot.url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "readyz did not recover with the websocket"
        time.sleep(0.1)


def test_a_rate_limited_call_after_the_ack_waits_and_succeeds(bot, slack):
    bot.import_items(ITEMS[:1])
    bot.start()
    message = wait_items(slack, 1)[0]
    slack.trigger_ttl = 30.0  # the retry waits Retry-After plus up to 1 s of jitter
    slack.fail_for(0.5, 429, retry_after=1, methods=["views.open"])
    assert slack.click("U0ANN1", CHANNEL, message["ts"], "guidelines").status == 200
    slack.wait_for(lambda: len(slack.views) == 1, timeout=20)
    assert len(slack.calls_to("views.open")) == 2  # refused with 429 once, then opened
    assert "Support tickets" in str(next(iter(slack.views.values())))  # the guidelines modal


def emulated(slack) -> Settings:
    return Settings.from_env(
        {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url, "DATABASE_URL": "sqlite://"}
    )


def test_before_the_ack_a_rate_limit_waits_at_most_a_second(slack):
    client = make_client(emulated(slack))
    slack.fail_for(60, 429, retry_after=20, methods=["auth.test"])
    started = time.monotonic()
    with pytest.raises(SlackApiError) as refused:
        client.auth_test()
    assert refused.value.response.status_code == 429
    assert time.monotonic() - started < 2.0  # no 20 s sleep inside the 3 s ack deadline
    assert len(slack.calls_to("auth.test")) == 1
    slack.stop_failing()

    slack.fail_for(0.3, 429, retry_after=1, methods=["auth.test"])
    assert client.auth_test()["ok"]  # a wait of 1 s is taken, once
    assert len(slack.calls_to("auth.test")) == 3
