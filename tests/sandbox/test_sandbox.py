"""The sandbox without a browser: its simulated annotators, its sample project, its page's API and
the command's errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import parse_config
from bot.importer import detect_format, read_table
from bot.sandbox import CHANNEL, Sandbox
from bot.sandbox.annotators import SimulatedAnnotators, label_choices
from bot.sandbox.runner import Options, free_port
from bot.sandbox.workspace import SAMPLE_DATA, known_answers, project_config
from bot.starter import propose
from tests.conftest import IS_POSTGRES

ONLY_SQLITE = pytest.mark.skipif(
    IS_POSTGRES, reason="the sandbox always uses its own SQLite database: tested on the SQLite pass"
)


def sims(accuracy: float) -> SimulatedAnnotators:
    return SimulatedAnnotators(None, CHANNEL, ["U0BEN"], {}, accuracy=accuracy, seed=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("accuracy", "low", "high"), [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.8, 0.77, 0.83)])
def test_simulated_annotators_give_the_known_answer_as_often_as_asked(accuracy, low, high):
    picker = sims(accuracy)
    picks = [picker.pick("bug", ["billing", "bug", "other"]) for _ in range(2000)]
    assert low <= picks.count("bug") / len(picks) <= high
    assert set(picks) <= {"billing", "bug", "other"}
    assert picker.pick(None, ["a", "b"]) in {"a", "b"}  # no known answer: any label


def test_label_choices_reads_buttons_and_menus():
    buttons = {"type": "actions", "elements": [{"type": "button", "action_id": f"label:{v}"} for v in "ab"]}
    menu = {
        "type": "actions",
        "elements": [
            {
                "type": "static_select",
                "action_id": "label_select",
                "options": [{"value": "x"}, {"value": "y"}],
            }
        ],
    }
    assert label_choices({"blocks": [{"type": "section"}, buttons]}) == ("buttons", ["a", "b"])
    assert label_choices({"blocks": [menu]}) == ("select", ["x", "y"])
    assert label_choices({"blocks": [{"type": "context"}]}) is None


def test_the_sample_project_is_a_valid_configuration_with_known_answers():
    starter = propose(SAMPLE_DATA)
    config = parse_config({"projects": [project_config(starter)]})
    project = config.projects[0]
    assert [label.text for label in project.labels] == ["Account", "Billing", "Bug", "Other"]
    assert project.fields == ["plan"]
    records, _, _ = read_table(SAMPLE_DATA, detect_format(SAMPLE_DATA))
    answers = known_answers(records, starter)
    assert len(answers) == len(records) == 24 and answers["t-01"] == "billing"


@pytest.fixture
def own_data(tmp_path: Path) -> Iterator[Sandbox]:
    """The sandbox on a person's own file: seven labels (a menu), one row import would refuse."""
    rows = [
        {"doc_id": f"d{i}", "body": f"Text <b>{i}</b> & more", "topic": f"topic{i % 7}"} for i in range(14)
    ]
    rows.append({"doc_id": "d0", "body": "a duplicate id", "topic": "topic0"})
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    running = Sandbox(Options(port=free_port(), data=path, accuracy=1.0, delay=0.1, seed=2)).start()
    yield running
    running.stop()


@ONLY_SQLITE
def test_own_data_file_and_the_page_api(own_data: Sandbox):
    slack, url = own_data.slack, own_data.url
    # The simulated annotators answer through the menu (more than five labels).
    slack.wait_for(
        lambda: any("2 of 3 labels" in json.dumps(m.get("blocks")) for m in slack.messages(CHANNEL)),
        timeout=30,
    )
    state = httpx.get(f"{url}api/state", params={"user": "U0ANA"}).json()
    assert state["me"] == "U0ANA" and state["messages"] and state["modal"] is None
    assert "metadata" not in state["messages"][0]  # what the page needs, no more
    assert any("Text &lt;b&gt;" in json.dumps(m["blocks"]) for m in state["messages"])  # as Slack holds it
    ts = state["messages"][0]["ts"]
    # A click the person cannot make is refused with the emulator's reason; nothing reaches the bot.
    refused = httpx.post(f"{url}api/click", json={"user": "U0ANA", "ts": ts, "action_id": "nope"})
    assert refused.status_code == 400 and "no element 'nope'" in refused.json()["error"]
    assert (
        httpx.post(f"{url}api/click", json={"user": "U0NOBODY", "ts": ts, "action_id": "x"}).status_code
        == 400
    )
    assert httpx.get(f"{url}api/state", params={"user": "U0NOBODY"}).status_code == 400
    assert httpx.get(f"{url}files/F000").status_code == 404
    # A slash command from the page, answered to that user only.
    assert httpx.post(f"{url}api/command", json={"user": "U0EVE", "text": "stats"}).json()["ok"]
    (answer,) = slack.wait_for(lambda: slack.ephemerals(user="U0EVE"), timeout=15)
    seen = {user: httpx.get(f"{url}api/state", params={"user": user}).json() for user in ("U0EVE", "U0ANA")}
    assert answer["ts"] in {e["ts"] for e in seen["U0EVE"]["ephemerals"]}
    assert answer["ts"] not in {e["ts"] for e in seen["U0ANA"]["ephemerals"]}


@pytest.mark.parametrize("name", ["empty.csv", "missing.csv"])
def test_a_data_file_it_cannot_use_is_one_line_and_exit_2(tmp_path: Path, name: str):
    path = tmp_path / name
    if name == "empty.csv":
        path.write_text("")
    result = CliRunner().invoke(app, ["sandbox", "--data", str(path), "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
