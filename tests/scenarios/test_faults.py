"""Faults across several hosts on one PostgreSQL database (``tests/support/faults.py``).

Web hosts and a worker as separate ``labelbot serve`` processes: ``kill -9`` of a web host during
clicks and of the worker during posting, a database outage (a cut proxy in front of the shared
server, never the server itself), 429 and 5xx storms on Slack's side. Each fault is repeated
``LABELBOT_FAULT_REPEATS`` times (2 here: each restart is a Python process's start; ``benchmarks/faults.py`` runs many more and prints the
figures). Several hosts share only PostgreSQL, so these are skipped on SQLite.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import IS_POSTGRES
from tests.support import faults

pytestmark = [
    pytest.mark.skipif(not IS_POSTGRES, reason="several hosts share only a PostgreSQL database"),
    pytest.mark.slow,
]
REPEATS = int(os.environ.get("LABELBOT_FAULT_REPEATS", "2"))


def test_killing_web_hosts_during_clicks_loses_no_acknowledged_label(tmp_path, database_url):
    result = faults.web_kills(tmp_path, database_url, REPEATS)
    assert result.kills == REPEATS
    assert result.acked == result.stored > 0
    assert result.lost == []


def test_killing_the_worker_mid_post_posts_each_item_once(tmp_path, database_url):
    result = faults.worker_kills(tmp_path, database_url, REPEATS)
    assert result.kills == REPEATS
    assert result.double_posts == 0 and result.lost == 0
    assert result.posted == result.items
    assert result.adopted == REPEATS  # each post the killed worker made was found, not made again


def test_a_database_outage_is_answered_in_time_and_loses_nothing(tmp_path, database_url):
    result = faults.database_outage(tmp_path, database_url, REPEATS)
    assert result.lost == [] and result.acked == result.stored > 0
    assert result.during > 0
    assert result.during_answered == result.during, f"slowest ack {result.slowest_ack:.2f}s"
    assert result.slowest_ack < faults.ACK_DEADLINE
    assert result.during_told == result.during  # an error the user sees, not silence
    assert result.during_stored == 0
    # Other requests that need the database (a slash command) get a notice in time, not a 500.
    assert result.commands == REPEATS
    assert result.commands_answered == result.commands, f"slowest {result.slowest_command:.2f}s"
    assert result.commands_told == result.commands


def test_slack_storms_across_hosts_post_nothing_twice_and_catch_up(tmp_path, database_url):
    result = faults.slack_storms(tmp_path, database_url, max(1, REPEATS // 2))
    assert result.double_posts == 0 and result.lost == 0
    assert result.dirty_left == 0
    assert result.home_caught_up is not None  # the App Home published in the storm, published after it
    assert result.acks_failed == 0
    for method in ("chat.postMessage", "chat.update"):
        assert result.refused_calls[method] > 0
