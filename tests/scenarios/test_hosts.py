"""Two worker hosts on one PostgreSQL database: `labelbot serve --role worker` twice, as two
machines run it, posting to the same channel and checking the same project for retraining."""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from bot.slack.emulator import SlackEmulator
from storage.db import make_engine
from storage.models import ModelArtifact, ModelVersion, TrainingClaim
from tests.scenarios.conftest import ProcessBot, bot_env, item_messages
from tests.scenarios.test_model_loop import WORDS, text

PACE = 1.0  # Slack: one chat.postMessage a second a channel
HOLDS = "this process now posts for channel:C0LABELS"
ANNOTATORS = ("U0ANN1", "U0ANN2", "U0ANN3")


@pytest.fixture
def workers(tmp_path: Path, database_url: str, slack: SlackEmulator):
    if not database_url.startswith("postgresql"):
        pytest.skip("several hosts share a PostgreSQL database; SQLite is one host by definition")
    env = bot_env(tmp_path, database_url, slack)
    hosts = [ProcessBot(tmp_path, env, slack, False)]
    (tmp_path / "host2").mkdir()
    hosts.append(ProcessBot(tmp_path / "host2", env, slack, False))
    yield hosts
    for host in hosts:
        host.stop()


def posted_ids(slack: SlackEmulator) -> list[int]:
    return [m["metadata"]["event_payload"]["item_id"] for m in item_messages(slack)]


def paced(messages: list[dict]) -> list[float]:
    """Seconds between consecutive posts, by Slack's clock (the ts it gave each message)."""
    times = [float(m["ts"]) for m in messages]
    return [b - a for a, b in itertools.pairwise(times)]


def test_two_workers_post_each_item_once_at_the_channels_pace_and_train_once(
    workers, slack, tmp_path, database_url
):
    first, second = workers
    first.configure(max_open=30, model={"min_labels": 9, "retrain_every": 5})
    history = [
        {"id": f"h-{lab}-{i}", "text": text(lab, i), "language": "en"} for lab in WORDS for i in range(5)
    ]
    fresh = [{"id": f"new-{i}", "text": text("billing", 100 + i), "language": "en"} for i in range(8)]
    first.import_items(history + fresh)
    labels = tmp_path / "history.csv"
    pd.DataFrame(
        [
            {"item_id": r["id"], "user_id": u, "label": r["id"].split("-")[1]}
            for r in history
            for u in ANNOTATORS
        ]
    ).to_csv(labels, index=False)
    assert "15 item(s) resolved" in first.cli("import", "support", str(labels), "--labels").stdout

    first.start("--role", "worker")
    second.start("--role", "worker")
    slack.wait_for(lambda: len(item_messages(slack)) >= 8, timeout=60)
    holders = [host for host in workers if HOLDS in host.log()]
    assert len(holders) == 1, [h.log() for h in workers]  # one poster for the channel
    ids = posted_ids(slack)
    assert len(ids) == len(set(ids)) == 8  # nothing posted twice
    assert min(paced(item_messages(slack))) >= PACE - 0.1  # Slack's pace, across both workers
    posts = slack.calls_to("chat.postMessage")
    assert not [c for c in posts if c.status == 429]  # never met Slack's per-channel limit

    # Training: each worker found the retrain due; the claim let exactly one of them start it.
    engine = make_engine(database_url)

    def trained_and_released() -> bool:  # the training process recorded v1 and gave its claim back
        with engine.connect() as conn:
            done = conn.scalar(
                select(func.count()).select_from(ModelVersion).where(ModelVersion.status == "trained")
            )
            return bool(done) and not conn.scalar(select(func.count()).select_from(TrainingClaim))

    slack.wait_for(trained_and_released, timeout=120)
    # A second training would show as a second start, and as a second version or artifact.
    assert sum(host.log().count("starting a model training process") for host in workers) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ModelVersion)) == 1
        assert conn.scalar(select(func.count()).select_from(ModelArtifact)) == 1
    engine.dispose()

    # The holder dies (kill -9): the other worker takes the channel and posts what comes next.
    holder = holders[0]
    other = second if holder is first else first
    before = len(item_messages(slack))
    killed = time.time()
    holder.stop(kill=True)
    first.import_items(
        [{"id": f"late-{i}", "text": text("bug", 200 + i), "language": "en"} for i in range(3)]
    )
    slack.wait_for(lambda: len(item_messages(slack)) >= before + 3, timeout=60)
    assert HOLDS in other.log()
    ids = posted_ids(slack)
    assert len(ids) == len(set(ids)) == 11  # none lost, none twice
    assert min(paced(item_messages(slack)[before:])) >= PACE - 0.1
    taken = datetime.strptime(
        re.search(rf"^(\S+ \S+) .*{HOLDS}", other.log(), re.M)[1], "%Y-%m-%d %H:%M:%S,%f"
    )
    print(  # the figures for the report (pytest -s)
        f"\ntwo workers: {len(ids)} items posted once each; smallest gap between posts "
        f"{min(paced(item_messages(slack))[: before - 1] + paced(item_messages(slack)[before:])):.3f} s; "
        f"channel taken over {taken.timestamp() - killed:.2f} s after kill -9 of its poster"
    )


def test_a_worker_opens_no_socket_mode_connection(tmp_path, database_url, slack):
    """Slack allows 10 connections per app across all hosts: they are the web processes'."""
    env = {**bot_env(tmp_path, database_url, slack), "SLACK_APP_TOKEN": slack.app_token}
    worker = ProcessBot(tmp_path, env, slack, False)
    worker.configure()
    try:
        worker.start("--role", "worker")
        assert slack.socket_connections == 0
        assert not slack.calls_to("apps.connections.open")
        assert "Socket Mode" not in worker.log()
    finally:
        worker.stop()
