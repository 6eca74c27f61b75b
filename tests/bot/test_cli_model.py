"""``labelbot model`` through the real CLI."""

import os

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import TRAINING_NICENESS, app
from tests.bot.conftest import LABELS

runner = CliRunner()


@pytest.fixture
def env(tmp_path, database_url, monkeypatch):
    cfg = tmp_path / "labelbot.yml"
    cfg.write_text(yaml.safe_dump({"projects": [{"key": "support", "name": "Support", "channel": "C0LABELS",
                                                 "labels": LABELS}]}))
    monkeypatch.setenv("LABELBOT_CONFIG", str(cfg))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LABELBOT_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path


def test_training_and_scoring_yield_the_cpu_to_the_server(env, monkeypatch):
    """The server starts `model --train` beside itself: under contention, acknowledgements go first."""
    calls: list[int] = []
    monkeypatch.setattr(os, "nice", lambda n: calls.append(n) or n)  # the test process keeps its own
    result = runner.invoke(app, ["model", "support", "--score"])
    assert result.exit_code == 0, result.output
    assert "no model and no rules yet" in result.output
    assert calls == [TRAINING_NICENESS] and TRAINING_NICENESS > 0
    assert runner.invoke(app, ["model", "support"]).exit_code == 0  # listing only: priority unchanged
    assert runner.invoke(app, ["model", "support", "--score", "--nice", "0"]).exit_code == 0
    assert calls == [TRAINING_NICENESS]
    result = runner.invoke(app, ["model", "support", "--score", "--nice", "25"])
    assert result.exit_code != 0 and calls == [TRAINING_NICENESS]
