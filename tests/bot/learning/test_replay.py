"""``labelbot simulate``: a labeled file or a project's items through the bot's loop, and its errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.importer import ItemRow, upsert_items
from bot.items import get_project
from bot.learning.corpora import make_synthetic
from bot.learning.replay import ReplayError, load_labeled_file, parse_overlap, render, replay
from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Item, ItemStatus, Resolution

runner = CliRunner()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return make_synthetic(400, 3, seed=2, class_balance=0.3)


def test_replay_reports_curves_savings_overlap_and_advice(data: pd.DataFrame) -> None:
    steps: list[tuple[int, int]] = []
    report = replay(
        data["text"].tolist(), data["label"].tolist(), source="toy", strategies=["balanced"],
        overlap=(1, 2), budget=120, seeds=1, retrain_every=30, on_progress=lambda d, t: steps.append((d, t)),
    )  # fmt: skip
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)  # random, balanced, fixed, dynamic
    names = [s.strategy for s in report.strategies]
    assert names == ["random", "balanced"]
    rnd = report.strategies[0]
    assert rnd.labels[-1] == 120 and rnd.labels[0] == 20  # first model at 20 labels, last at the budget
    assert report.overlap is not None and report.overlap.fixed_labels_per_item >= 2.0  # + experts' labels
    assert 1.0 <= report.overlap.dynamic_labels_per_item <= report.overlap.fixed_labels_per_item
    text = render(report)
    for expected in (
        "uncertainty weighted by text length (length_power 0.5)",
        "Learning curve",
        "share of random's labels",
        "labels/item",
        "Recommendation:",
        "annotators_per_item",
    ):
        assert expected in text


@pytest.mark.parametrize(
    ("rows", "labels", "message"),
    [
        (50, None, "50 labeled row"),
        (300, ["a"] * 300, "every labeled row has the label 'a'"),
        (300, ["a"] * 148 + ["b"] * 150 + ["c"] * 2, "label(s) 'c' have fewer than 5 rows"),
    ],
)
def test_too_little_data_is_refused(
    data: pd.DataFrame, rows: int, labels: list[str] | None, message: str
) -> None:
    texts = data["text"].tolist()[:rows]
    with pytest.raises(ReplayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replay(texts, labels or data["label"].tolist()[:rows], source="toy", budget=50, seeds=1)
    with pytest.raises(ReplayError, match="unknown strategy 'smart'"):
        replay(data["text"].tolist(), data["label"].tolist(), source="toy", strategies=["smart"])


@pytest.mark.parametrize(("text", "expected"), [("1-3", (1, 3)), ("2", (2, 2)), (" 1 - 2 ", (1, 2))])
def test_overlap_option(text: str, expected: tuple[int, int]) -> None:
    assert parse_overlap(text) == expected


@pytest.mark.parametrize("text", ["3-1", "0-2", "x", "1-2-3", "1-12"])
def test_bad_overlap_option(text: str) -> None:
    with pytest.raises(ReplayError, match="--overlap"):
        parse_overlap(text)


def test_labeled_file_reading_skips_unlabeled_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"body": ["a b", "c d", "e f", ""], "topic": ["x", "", "y", "z"]}).to_csv(path, index=False)
    assert load_labeled_file(path, "body", "topic") == (["a b", "e f"], ["x", "y"])
    with pytest.raises(ReplayError, match="no column 'text' \\(--text-field\\); its columns: body, topic"):
        load_labeled_file(path, "text", "topic")


def test_cli_on_a_file_prints_the_report_and_writes_a_chart(tmp_path: Path, data: pd.DataFrame) -> None:
    path = tmp_path / "labeled.jsonl"
    data.rename(columns={"text": "body", "label": "topic"}).to_json(path, orient="records", lines=True)
    chart = tmp_path / "curves.png"
    result = runner.invoke(
        app,
        ["simulate", str(path), "--text-field", "body", "--label-field", "topic", "--strategies", "margin",
         "--overlap", "none", "--budget", "80", "--seeds", "1", "--chart", str(chart)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "labeled.jsonl: 400 labeled rows, 3 labels" in result.output
    assert "model: {strategy: margin" in result.output or "random order did as well" in result.output
    assert "length_power 0.5" in result.output
    assert "Overlap" not in result.output
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "missing.csv: no such file"),
        (["FILE", "--label-field", "kind"], "no column 'kind' (--label-field)"),
        (["SMALL"], "20 labeled row(s); a simulation needs at least 200"),
        (["FILE", "--overlap", "3-1"], "--overlap '3-1'"),
        (["FILE", "--strategies", "uncertainty,smart"], "unknown strategy 'smart'"),
        (["notes.txt"], "cannot tell the format of notes.txt"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, data: pd.DataFrame, args: list[str], message: str) -> None:
    full = tmp_path / "full.csv"
    data.to_csv(full, index=False)
    data.head(20).to_csv(tmp_path / "small.csv", index=False)
    (tmp_path / "notes.txt").write_text("text,label\n")
    swap = {
        "FILE": str(full),
        "SMALL": str(tmp_path / "small.csv"),
        "missing.csv": str(tmp_path / "missing.csv"),
    }
    swap["notes.txt"] = str(tmp_path / "notes.txt")
    result = runner.invoke(
        app, ["simulate", *(swap.get(a, a) for a in args), "--seeds", "1", "--budget", "40"]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_cli_on_a_project_uses_its_resolved_items(env: Path, database_url: str, data: pd.DataFrame) -> None:
    factory = make_session_factory(make_engine(database_url))
    labels = {"topic_0": "billing", "topic_1": "bug", "topic_2": "other"}
    with session_scope(factory) as session:
        project = get_project(session, "support")
        rows = [ItemRow(f"i{i}", t, {}, None) for i, t in enumerate(data["text"])]
        upsert_items(session, project, rows)
        truth = dict(zip((f"i{i}" for i in range(len(data))), data["label"], strict=True))
        for item in session.scalars(select(Item).where(Item.project_id == project.id)):
            item.status, item.resolution = ItemStatus.RESOLVED, Resolution.CONSENSUS
            item.final_label = labels[truth[item.external_id]]
    result = runner.invoke(app, ["simulate", "support", "--seeds", "1", "--budget", "60", "--overlap", "1-2"])
    assert result.exit_code == 0, result.output
    assert "project support: 400 labeled rows, 3 labels" in result.output
    assert "(length_power 0.5)" in result.output  # the project's setting, the default here
    assert "annotators_per_item" in result.output
    result = runner.invoke(
        app,
        ["simulate", "support", "--seeds", "1", "--budget", "60", "--overlap", "none", "--length-power", "0"],
    )
    assert result.exit_code == 0, result.output
    assert "not weighted by text length (length_power 0)" in result.output
    result = runner.invoke(app, ["simulate", "nosuch", "--seeds", "1"])
    assert result.exit_code == 2 and "nosuch" in result.output
