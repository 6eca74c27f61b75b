"""``labelbot model`` through the real CLI."""

import os

from typer.testing import CliRunner

from bot.cli import TRAINING_NICENESS, app

runner = CliRunner()


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
