"""Expected failures of every command: one line on stderr, the exit code of ``bot.exits``, no
traceback, and nothing half-written (no output file, no rows)."""

from __future__ import annotations

import codecs
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot import cli, exporter, importer
from bot.cli import Bars, app
from bot.exits import ExitCode

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def error_line(output: str) -> str:
    """The one error line (the output holds nothing else but it)."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0].removeprefix("error: ")


def count_items(env) -> int:
    code, out = run("status", "support")
    assert code == 0, out
    return int(out.split("support: ", 1)[1].split(" item(s)", 1)[0])


def items_csv(env, name="items.csv", rows=(("a", "hello"), ("b", "world"))):
    path = env / name
    pd.DataFrame(rows, columns=["id", "text"]).to_csv(path, index=False)
    return path


# -- export ------------------------------------------------------------------------------------
def test_export_into_a_folder_that_does_not_exist(env):
    target = env / "missing" / "dir" / "out.csv"
    code, out = run("export", "support", "-o", str(target))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"cannot write {target}: the folder {target.parent} does not exist"
    assert not target.parent.exists()


def test_export_to_a_folder(env):
    code, out = run("export", "support", "-o", str(env))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"{env} is a folder; give a file name, like {env / 'labels.csv'}"


def test_export_where_writing_is_not_permitted(env, monkeypatch):
    """Refused before any work when the folder is not writable (checked as the user; root may write
    anywhere, so the check is faked here), and a write refused midway leaves no file."""
    target = env / "out.csv"
    with monkeypatch.context() as patched:
        patched.setattr(exporter.os, "access", lambda *_: False)
        code, out = run("export", "support", "-o", str(target))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"cannot write {target}: permission denied"

    def refused(frame, path, raw=False):
        path.write_text("item_id,text\r\na,half")  # half a file, then the disk says no
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(exporter, "write_csv", refused)
    code, out = run("export", "support", "-o", str(target))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"cannot write {target}: permission denied"
    assert list(env.glob("*out.csv*")) == []


def test_export_labels_and_discussions_together_is_refused(env):
    code, out = run("export", "support", "-o", str(env / "out.csv"), "--labels", "--discussions")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == "--labels and --discussions cannot be used together: export one, then the other"
    assert not (env / "out.csv").exists()


@pytest.mark.parametrize(
    ("name", "fmt", "written"),
    [("out.csv", "parquet", "csv"), ("out.csv", "jsonl", "csv"), ("out.jsonl", "parquet", "jsonl")],
)
def test_a_format_that_contradicts_the_extension_is_refused(env, name, fmt, written):
    code, out = run("export", "support", "-o", str(env / name), "--format", fmt)
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        f"--format {fmt} contradicts the extension of {name} ({written}); rename the file or leave --format out"
    )
    assert not (env / name).exists()


def test_the_extension_decides_and_format_names_an_unknown_one(env):
    items_csv(env)
    assert run("import", "support", str(env / "items.csv"))[0] == 0
    code, out = run("export", "support", "-o", str(env / "out.parquet"))
    assert code == 0 and pd.read_parquet(env / "out.parquet")["item_id"].tolist() == ["a", "b"]
    code, out = run("export", "support", "-o", str(env / "out.txt"), "--format", "jsonl")
    assert code == 0 and json.loads((env / "out.txt").read_text().splitlines()[0])["item_id"] == "a"
    code, out = run("export", "support", "-o", str(env / "out.txt"))
    assert code == ExitCode.BAD_INPUT and "cannot tell the format of out.txt" in error_line(out)


# -- import ------------------------------------------------------------------------------------
def test_import_a_file_that_does_not_exist(env):
    code, out = run("import", "support", str(env / "nope.csv"))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"{env / 'nope.csv'}: no such file"
    missing = env / "nodir" / "x.csv"
    code, out = run("import", "support", str(missing))
    assert error_line(out) == f"{missing}: no such file (the folder {missing.parent} does not exist either)"
    assert count_items(env) == 0


def test_import_a_folder(env):
    code, out = run("import", "support", str(env))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"{env} is a folder, not a file"
    assert count_items(env) == 0


@pytest.mark.parametrize(("name", "content"), [("e.csv", b""), ("e.jsonl", b""), ("b.jsonl", b"\n\n")])
def test_import_an_empty_file(env, name, content):
    (env / name).write_bytes(content)
    code, out = run("import", "support", str(env / name))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) in (
        f"{name}: not a readable CSV file: it is empty",
        f"{name}: not a readable JSONL file: it has no JSON lines",
    )
    assert count_items(env) == 0


def test_import_a_file_that_may_not_be_read(env, monkeypatch):
    src = items_csv(env)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patched:
        patched.setattr(importer.Path, "read_bytes", denied)
        code, out = run("import", "support", str(src))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"{src}: permission denied (cannot read it)"
    assert count_items(env) == 0


def test_import_with_a_format_that_contradicts_the_extension(env):
    src = items_csv(env)
    code, out = run("import", "support", str(src), "--format", "jsonl")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out).startswith("--format jsonl contradicts the extension of items.csv (csv)")
    assert count_items(env) == 0


def test_import_unknown_project_and_unknown_column(env):
    src = items_csv(env)
    code, out = run("import", "nope", str(src))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == "unknown project 'nope'; the configuration has: support"
    code, out = run("import", "support", str(src), "--text-field", "body")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        "items.csv: missing column(s) 'body'; the file has: id, text "
        "(choose others with --id-field/--text-field/--gold-field)"
    )
    assert count_items(env) == 0


def test_import_flags_that_do_not_go_together(env):
    src = items_csv(env)
    code, out = run("import", "support", str(src), "--labels", "--gold-field", "gold")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        "--labels and --gold-field cannot be used together: a labels file has fixed columns"
    )
    code, out = run("import", "support", str(src), "--rejected", str(env / "r.csv"))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        "--rejected needs --skip-invalid (without it, a file with invalid rows imports nothing)"
    )
    assert count_items(env) == 0


def test_rejected_rows_with_nowhere_to_go_refuse_the_import(env):
    (env / "bad.csv").write_text("id,text\na,fine\n,no id\n")
    target = env / "nodir" / "r.csv"
    code, out = run("import", "support", str(env / "bad.csv"), "--skip-invalid", "--rejected", str(target))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == f"cannot write {target}: the folder {target.parent} does not exist"
    assert count_items(env) == 0


def test_rejected_rows_of_a_file_named_by_format_go_beside_it(env):
    """``items.txt --format csv``: the rejected rows are CSV too, in ``items.rejected.txt``."""
    (env / "items.txt").write_text("id,text\na,fine\n,no id\n")
    code, out = run("import", "support", str(env / "items.txt"), "--format", "csv", "--skip-invalid")
    assert code == 0, out
    assert "1 new" in out and "1 row(s) rejected" in out
    assert pd.read_csv(env / "items.rejected.txt")["row"].tolist() == [2]


# -- encodings ---------------------------------------------------------------------------------
def test_a_bad_byte_is_reported_in_its_own_column_and_row(env):
    (env / "ids.csv").write_bytes(b"id,text,note\nok,fine,x\nb\xe9d,text ok,x\nc,caf\xe9,x\nd,t,\xff\n")
    code, out = run("import", "support", str(env / "ids.csv"))
    assert code == ExitCode.BAD_INPUT
    assert "  row 2: column 'id' is not valid UTF-8" in out
    assert "  row 3: column 'text' is not valid UTF-8" in out
    assert "  row 4: column 'note' is not valid UTF-8" in out
    assert count_items(env) == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_files_with_a_byte_order_mark_are_read(env, encoding):
    rows = "id,text,lang\nu1,héllo wörld,de\nu2,日本語,ja\n"
    data = rows.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    (env / "items.csv").write_bytes(data)
    code, out = run("import", "support", str(env / "items.csv"))
    assert code == 0, out
    assert "2 new" in out
    run("export", "support", "-o", str(env / "out.jsonl"))
    exported = [json.loads(line) for line in (env / "out.jsonl").read_text("utf-8").splitlines()]
    assert [(r["item_id"], r["text"], r["lang"]) for r in exported] == [
        ("u1", "héllo wörld", "de"),
        ("u2", "日本語", "ja"),
    ]


def test_utf16_jsonl_and_label_files_are_read(env):
    lines = '{"id": "j1", "text": "ü\\u2028two lines"}\n{"id": "j2", "text": "ok"}\n'
    (env / "items.jsonl").write_bytes(lines.encode("utf-16"))
    code, out = run("import", "support", str(env / "items.jsonl"))
    assert code == 0 and "2 new" in out, out
    labels = "item_id,user_id,label\nj1,U0A,billing\n"
    (env / "labels.csv").write_bytes(labels.encode("utf-16"))
    code, out = run("import", "support", str(env / "labels.csv"), "--labels")
    assert code == 0 and "1 new label(s)" in out, out


def test_utf16_without_a_byte_order_mark_is_refused(env):
    (env / "items.csv").write_bytes("id,text\na,b\n".encode("utf-16-le"))
    code, out = run("import", "support", str(env / "items.csv"))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        "items.csv looks like UTF-16 without a byte-order mark; save it as UTF-8 "
        "(or as UTF-16 with a byte-order mark)"
    )
    assert count_items(env) == 0


def test_a_bad_byte_in_a_binary_parquet_column(env):
    pd.DataFrame({"id": [b"ok", b"b\xe9d"], "text": ["t", "u"]}).to_parquet(env / "b.parquet")
    code, out = run("import", "support", str(env / "b.parquet"))
    assert code == ExitCode.BAD_INPUT
    assert "  row 2: column 'id' is not valid UTF-8" in out
    assert count_items(env) == 0


# -- other commands ----------------------------------------------------------------------------
def test_remind_with_a_time_that_is_not_iso_8601(env):
    code, out = run("remind", "--now", "notadate")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == (
        "--now 'notadate' is not an ISO 8601 date or date and time; write it like 2026-12-03 "
        "or 2026-12-03T09:30 (UTC unless it ends with an offset like +01:00)"
    )


def test_quality_period_and_digest_chart(env):
    code, out = run("quality", "support", "--since", "2026-02-01", "--until", "2026-01-01")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == "--since 2026-02-01 is not before --until 2026-01-01: the period is empty"
    code, out = run("digest", "support", "--chart", str(env / "c.png"))
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == "--chart needs --dry-run (a posted digest carries its chart)"
    assert not (env / "c.png").exists()


def test_history_of_an_unknown_item(env):
    code, out = run("history", "support", "zzz")
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == "no item 'zzz' in project 'support'"


# -- the database ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current"), ("status",)])
def test_an_unreachable_database_exits_3_without_its_password(env, monkeypatch, command):
    monkeypatch.setenv("DATABASE_URL", "postgresql://labelbot:s3cr3t-pw@127.0.0.1:1/labelbot")
    code, out = run(*command)
    assert code == ExitCode.UNREACHABLE
    line = error_line(out)
    assert line.startswith("cannot open the database at postgresql://labelbot:***@127.0.0.1:1/labelbot: ")
    assert "s3cr3t-pw" not in out


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "notaurl",
            "DATABASE_URL is not a database URL; write it like postgresql://user@host/db or "
            "sqlite:///labelbot.db (value not shown: it may hold a secret)",
        ),
        (
            "nosuchdb://u:s3cr3t-pw@host/db",
            "DATABASE_URL nosuchdb://u:***@host/db: unknown database kind 'nosuchdb'; "
            "use postgresql:// or sqlite:///",
        ),
        (
            "sqlite:////nonexistent-folder/x.db",
            "DATABASE_URL sqlite:////nonexistent-folder/x.db: the folder /nonexistent-folder does not exist",
        ),
    ],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current")])
def test_a_malformed_database_url_exits_2(env, monkeypatch, url, expected, command):
    monkeypatch.setenv("DATABASE_URL", url)
    code, out = run(*command)
    assert code == ExitCode.BAD_INPUT
    assert error_line(out) == expected
    assert "s3cr3t-pw" not in out


# -- progress ----------------------------------------------------------------------------------
def test_no_bar_without_a_terminal(env):
    """CliRunner's stderr is no terminal, like a pipe or CI: the domain gets no callback at all."""
    assert Bars().step("x") is None
    items_csv(env)
    code, out = run("import", "support", str(env / "items.csv"))
    assert code == 0 and out == "support: 2 new, 0 unchanged, 0 changed\n"


def test_bars_in_a_terminal(env, monkeypatch):
    monkeypatch.setattr(cli, "stderr_is_terminal", lambda: True)
    items_csv(env)
    code, out = run("import", "support", str(env / "items.csv"))
    assert code == 0, out
    assert "checking rows" in out and "storing items and history" in out and "2 new" in out
    code, out = run("export", "support", "-o", str(env / "out.csv"))
    assert code == 0 and "reading items" in out and "2/2" in out


def test_domain_loops_report_progress(env):
    src = items_csv(env, rows=[(f"i{n}", "t") for n in range(25_000)])
    calls: list[tuple[int, int]] = []
    rows, bad = importer.read_item_rows(src, on_progress=lambda done, total: calls.append((done, total)))
    assert len(rows) == 25_000 and not bad
    assert calls == [(10_000, 25_000), (20_000, 25_000), (25_000, 25_000)]


# -- Slack -------------------------------------------------------------------------------------
@pytest.fixture
def slack_answers():
    """A Web API that answers every call with the body set in ``answer`` (say, a refused token)."""
    import http.server
    import threading

    answer: dict[str, object] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/", answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        ("invalid_auth", ExitCode.REFUSED, "Slack refused the token (invalid_auth)"),
        (
            "missing_scope",
            ExitCode.REFUSED,
            "the app lacks a scope: missing_scope (needed: chat:write; granted: none)",
        ),
        ("channel_not_found", ExitCode.BAD_INPUT, "Slack answered channel_not_found"),
    ],
)
def test_digest_that_slack_refuses(env, monkeypatch, slack_answers, error, code, says):
    url, answer = slack_answers
    answer.update(ok=False, error=error, **({"needed": "chat:write"} if error == "missing_scope" else {}))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", url)
    exit_code, out = run("digest", "support")
    assert exit_code == code
    assert error_line(out) == f"posting the digest to C0LABELS failed: {says}"
    assert "xoxb-test-token" not in out
