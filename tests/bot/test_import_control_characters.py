"""C0 control characters (other than tab, LF and CR) are rejected by row and column at import.

PostgreSQL's ``text`` and ``jsonb`` refuse NUL outright (the whole import failed with a
traceback); SQLite stored it and sent it to Slack. Both databases now get the same answer.
"""

import json

import pandas as pd
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def json_lines(path):
    """Lines split on LF only: U+0085 and U+2028 are text inside a JSON string, not line ends."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def exported(env):
    code, out = run("export", "support", "-o", str(env / "out.jsonl"))
    assert code == 0, out
    return json_lines(env / "out.jsonl")


ITEMS = [
    {"id": "ok-1", "text": "tabs\tnew\nlines\r\nare fine", "note": "x\ty"},
    {"id": "nul-text", "text": "before\u0000after"},
    {"id": "bad\u0001id", "text": "t"},
    {"id": "bad-gold", "text": "t", "gold": "bug\u001b"},
    {"id": "bad-meta", "text": "t", "note": "bell\u0007"},
    {"id": "bad-nested", "text": "t", "tags": ["fine", {"deep": ["x\u0000"]}]},
    {"id": "bad-nested-key", "text": "t", "extra": {"k\u0000": 1}},
    {"id": "bad-key", "text": "t", "n\u001fote": "v"},
    {"id": "ok-2", "text": "also fine", "note": "x\u007f y \u0085 z"},  # DEL and C1: not C0
]
EXPECTED = [
    "row 2: column 'text' contains a control character (U+0000)",
    "row 3: column 'id' contains a control character (U+0001)",
    "row 4: column 'gold' contains a control character (U+001B)",
    "row 5: column 'note' contains a control character (U+0007)",
    "row 6: column 'tags' contains a control character (U+0000)",
    "row 7: column 'extra' contains a control character (U+0000)",
    "row 8: column name 'n\\x1fote' contains a control character (U+001F)",
]


def test_control_characters_reject_the_file_by_row_and_column(env):
    src = write_jsonl(env / "items.jsonl", ITEMS)
    code, out = run("import", "support", str(src), "--gold-field", "gold")
    assert code == 2, out
    for line in EXPECTED:
        assert line in out, out
    assert "7 invalid row(s), nothing imported" in out
    assert exported(env) == []


def test_skip_invalid_isolates_control_characters(env):
    src = write_jsonl(env / "items.jsonl", ITEMS)
    code, out = run("import", "support", str(src), "--gold-field", "gold", "--skip-invalid")
    assert code == 0, out
    assert "2 new" in out and "7 row(s) rejected" in out
    rows = exported(env)
    assert [r["item_id"] for r in rows] == ["ok-1", "ok-2"]
    assert rows[0]["text"] == "tabs\tnew\nlines\r\nare fine" and rows[1]["note"] == "x\u007f y \u0085 z"
    rejected = json_lines(env / "items.rejected.jsonl")
    assert [r["row"] for r in rejected] == [2, 3, 4, 5, 6, 7, 8]
    assert rejected[0]["text"] == "before\u0000after"  # the row as it was, for fixing


def test_nul_byte_in_a_csv_row(env):
    src = env / "items.csv"
    src.write_bytes(b"id,text,lang\na,fine,en\nb,nul\x00here,en\nc,fine,d\x02e\n")
    code, out = run("import", "support", str(src))
    assert code == 2
    assert "row 2: column 'text' contains a control character (U+0000)" in out
    assert "row 3: column 'lang' contains a control character (U+0002)" in out
    code, out = run("import", "support", str(src), "--skip-invalid")
    assert code == 0 and "1 new" in out and "2 row(s) rejected" in out, out
    assert [r["item_id"] for r in exported(env)] == ["a"]
    assert len(pd.read_csv(env / "items.rejected.csv", dtype=str)) == 2


def test_control_characters_in_parquet(env):
    src = env / "items.parquet"
    pd.DataFrame([{"id": "a", "text": "fine"}, {"id": "b", "text": "x\x00"}]).to_parquet(src)
    code, out = run("import", "support", str(src), "--skip-invalid")
    assert code == 0 and "1 new" in out, out
    assert "row 2: column 'text' contains a control character (U+0000)" in out


def test_label_import_rejects_control_characters(env):
    write_jsonl(env / "items.jsonl", [{"id": "a", "text": "t"}, {"id": "b", "text": "t"}])
    code, out = run("import", "support", str(env / "items.jsonl"))
    assert code == 0, out
    labels = write_jsonl(
        env / "labels.jsonl",
        [
            {"item_id": "a", "user_id": "U0ANN", "label": "bug"},
            {"item_id": "a", "user_id": "U\u0000X", "label": "bug"},
            {"item_id": "b\u0000", "user_id": "U0ANN", "label": "bug"},
            {"item_id": "b", "user_id": "U0ANN", "label": "bug\u0008"},
            {"item_id": "b", "user_id": "U0TWO", "label": "bug", "created_at": "2026-01-01\u0000"},
        ],
    )
    code, out = run("import", "support", str(labels), "--labels")
    assert code == 2, out
    assert "row 2: column 'user_id' contains a control character (U+0000)" in out
    assert "row 3: column 'item_id' contains a control character (U+0000)" in out
    assert "row 4: column 'label' contains a control character (U+0008)" in out
    assert "row 5: column 'created_at' contains a control character (U+0000)" in out
    code, out = run("import", "support", str(labels), "--labels", "--skip-invalid")
    assert code == 0 and "1 new label(s)" in out and "4 row(s) rejected" in out, out
    code, out = run("export", "support", "--labels", "-o", str(env / "history.jsonl"))
    history = json_lines(env / "history.jsonl")
    assert [(h["item_id"], h["user_id"]) for h in history] == [("a", "U0ANN")]
