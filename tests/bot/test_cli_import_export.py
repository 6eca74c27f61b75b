"""``labelbot import`` / ``export`` / ``status`` / ``history`` through the real CLI."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def write_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_import_csv_reimport_and_export(env):
    rows = [
        {"id": "a", "text": "refund please", "language": "en", "gold": "billing"},
        {"id": "b", "text": "app crashes", "language": "de", "gold": ""},
    ]
    src = write_csv(env / "items.csv", rows)
    code, out = run("import", "support", str(src), "--gold-field", "gold")
    assert code == 0, out
    assert "2 new, 0 unchanged, 0 changed" in out
    rows[1]["text"] = "app crashes on start"
    rows.append({"id": "c", "text": "hello", "language": "fr", "gold": ""})
    write_csv(src, rows)
    code, out = run("import", "support", str(src), "--gold-field", "gold")
    assert "1 new, 1 unchanged, 1 changed" in out, out
    code, out = run("export", "support", "-o", str(env / "out.csv"))
    assert code == 0, out
    frame = pd.read_csv(env / "out.csv", keep_default_na=False)
    assert list(frame["item_id"]) == ["a", "b", "c"]
    assert set(
        [
            "item_id",
            "text",
            "status",
            "final_label",
            "resolution",
            "agreement",
            "n_labels",
            "votes",
            "gold_label",
            "language",
        ]
    ) <= set(frame.columns)
    assert frame.loc[1, "text"] == "app crashes on start"
    assert frame.loc[0, "gold_label"] == "billing"
    assert json.loads(frame.loc[0, "votes"]) == {}
    code, out = run("history", "support", "b")
    assert code == 0 and "queued" in out and "updated" in out


def test_bad_rows_are_reported_and_nothing_lands(env):
    src = env / "bad.csv"
    src.write_bytes(b"id,text\na,fine\n,no id\nc,\na,dup\nd,caf\xe9 latin1\n")
    code, out = run("import", "support", str(src))
    assert code != 0
    assert "row 2: missing 'id'" in out
    assert "row 3: missing 'text'" in out
    assert "row 4: id 'a' appears twice in the file (first at row 1)" in out
    assert "row 5: column 'text' is not valid UTF-8" in out
    code, out = run("status", "support")
    assert "support: 0 item(s)" in out


def test_skip_invalid_imports_good_rows_and_writes_rejects(env):
    src = env / "bad.jsonl"
    src.write_text('{"id": "a", "text": "ok"}\nnot json\n{"id": "b"}\n{"id": "c", "text": "fine", "n": 3}\n')
    code, out = run("import", "support", str(src), "--skip-invalid")
    assert code == 0, out
    assert "2 new" in out and "2 row(s) rejected" in out
    rejected = pd.read_json(env / "bad.rejected.jsonl", lines=True)
    assert list(rejected["row"]) == [2, 3]
    code, out = run("export", "support", "-o", str(env / "out.jsonl"))
    lines = [json.loads(line) for line in (env / "out.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in lines] == ["a", "c"]
    assert lines[1]["n"] == 3 and lines[1]["votes"] == {}


def test_parquet_roundtrip_and_meta_collision(env):
    src = env / "items.parquet"
    pd.DataFrame([{"id": "x", "text": "t", "status": "vip", "score": 1.5}]).to_parquet(src)
    code, out = run("import", "support", str(src))
    assert code == 0, out
    run("export", "support", "-o", str(env / "out.parquet"))
    frame = pd.read_parquet(env / "out.parquet")
    assert frame.loc[0, "meta_status"] == "vip" and frame.loc[0, "status"] == "queued"
    assert frame.loc[0, "score"] == pytest.approx(1.5)


def test_missing_columns_and_unknown_project(env):
    src = write_csv(env / "x.csv", [{"key": "a", "body": "t"}])
    code, out = run("import", "support", str(src))
    assert code != 0 and "missing column(s) 'id', 'text'" in out and "--id-field" in out
    code, out = run("import", "support", str(src), "--id-field", "key", "--text-field", "body")
    assert code == 0 and "1 new" in out
    code, out = run("import", "nope", str(src))
    assert code != 0 and "unknown project 'nope'" in out


def test_bad_gold_label_is_rejected(env):
    src = write_csv(env / "g.csv", [{"id": "a", "text": "t", "gold": "nonsense"}])
    code, out = run("import", "support", str(src), "--gold-field", "gold")
    assert code != 0 and "gold label 'nonsense' is not one of the project's labels" in out


def test_bad_config_is_reported(env, monkeypatch):
    (env / "labelbot.yml").write_text(
        "projects:\n  - key: x\n    name: X\n    channel: nope\n    labels: []\n"
    )
    code, out = run("status")
    assert code != 0
    assert "project 'x' (projects[0]) → channel" in out and "labels" in out
