"""``labelbot init DATAFILE``: a starter labelbot.yml that loads, and the first import it proposes works."""

from __future__ import annotations

import json
import shlex

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.starter import PLACEHOLDER_CHANNEL, propose

runner = CliRunner()


@pytest.fixture
def fresh(tmp_path, monkeypatch, database_url):
    """A newcomer's folder: no labelbot.yml yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABELBOT_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return tmp_path


def tickets(path):
    pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-3", "T-4"],
            "body": ["My invoice is wrong, refund please", "App crashes on start", "Export?", "Hi"],
            "category": ["Billing", "Bug", "Other: misc", "Bug"],
            "language": ["en", "de", "en", "fr"],
        }
    ).to_csv(path, index=False)
    return path


def test_init_writes_a_starter_that_loads_and_its_import_command_works(fresh):
    data = tickets(fresh / "tickets.csv")
    result = runner.invoke(app, ["init", "tickets.csv"])
    assert result.exit_code == 0, result.output
    config = load_config(str(fresh / "labelbot.yml"))
    (project,) = config.projects
    assert (project.key, project.channel, project.fields) == ("tickets", PLACEHOLDER_CHANNEL, ["language"])
    assert [(label.value, label.text) for label in project.labels] == [
        ("billing", "Billing"),
        ("bug", "Bug"),
        ("other_misc", "Other: misc"),
    ]
    text = (fresh / "labelbot.yml").read_text()
    assert "# The ID of the channel" in text and "from the column 'category' of tickets.csv" in text
    (step,) = [line for line in result.output.splitlines() if line.strip().startswith("3. labelbot import")]
    command = shlex.split(step.strip().removeprefix("3. labelbot "))
    assert command == ["import", "tickets", "tickets.csv", "--id-field", "ticket_id", "--text-field", "body"]
    imported = runner.invoke(app, command)
    assert imported.exit_code == 0 and "4 new" in imported.output, imported.output
    assert data.exists()


def test_init_never_overwrites(fresh):
    tickets(fresh / "tickets.csv")
    (fresh / "labelbot.yml").write_text("# mine\n")
    result = runner.invoke(app, ["init", "tickets.csv"])
    assert result.exit_code == 2
    assert "labelbot.yml exists; init never overwrites it" in result.output
    assert (fresh / "labelbot.yml").read_text() == "# mine\n"
    assert runner.invoke(app, ["init", "tickets.csv", "-o", "other.yml"]).exit_code == 0
    assert load_config(str(fresh / "other.yml")).projects[0].key == "tickets"


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "missing.csv", "missing.csv: no such file"),
        ("", "empty.csv", "not a readable CSV file"),
        ("id,text\n", "header.csv", "header.csv: no rows to propose a configuration from"),
        ("a;b", "data.txt", "cannot tell the format of data.txt"),
    ],
)
def test_init_refuses_what_it_cannot_read_and_writes_nothing(fresh, content, name, expected):
    if content is not None:
        (fresh / name).write_text(content)
    result = runner.invoke(app, ["init", name])
    assert result.exit_code == 2 and expected in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (fresh / "labelbot.yml").exists()


def test_guesses_without_telling_names(tmp_path):
    """No column is called id or text: the unique one is the id, the longest texts the text."""
    path = tmp_path / "reviews.jsonl"
    rows = [
        {
            "n": i,
            "review_body": f"a long review text number {i} that goes on",
            "stars": str(i % 5),
            "shop": "x",
        }
        for i in range(30)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    starter = propose(path)
    assert (starter.id_field, starter.text_field, starter.label_field) == ("n", "review_body", None)
    assert starter.fields == ["stars", "shop"]
    assert [value for value, _ in starter.labels] == ["yes", "no"]
    assert any("no label column" in note for note in starter.notes)


def test_a_label_column_with_too_many_values_is_not_taken_for_labels(tmp_path):
    path = tmp_path / "items.csv"
    pd.DataFrame({"id": range(150), "text": ["t"] * 150, "label": [f"l{i}" for i in range(150)]}).to_csv(
        path, index=False
    )
    starter = propose(path)
    assert starter.label_field is None and any("150 values" in note for note in starter.notes)
