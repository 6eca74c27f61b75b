"""The model in the running bot: trained in a separate process, suggestions shown to experts."""

from __future__ import annotations

import json
import re
import time

import pandas as pd

from tests.scenarios.conftest import CHANNEL, message_text, wait_items

WORDS = {
    "billing": "invoice refund charge payment card",
    "bug": "crash error broken freeze screen",
    "other": "hello thanks question weather lunch",
}


def text(label, i):
    words = WORDS[label].split()
    return " ".join(words[(i + j) % len(words)] for j in range(6)) + f" n{i}"


def test_server_trains_in_background_and_experts_see_suggestions(bot, slack, tmp_path):
    bot.env["LABELBOT_MODELS_DIR"] = str(tmp_path / "models")
    bot.configure(model={"min_labels": 9, "retrain_every": 5}, max_open=2)
    history = [
        {"id": f"h-{lab}-{i}", "text": text(lab, i), "language": "en"} for lab in WORDS for i in range(5)
    ]
    fresh = [{"id": "new-1", "text": text("billing", 99), "language": "en"}]
    bot.import_items(history + fresh)
    labels = tmp_path / "history.csv"
    pd.DataFrame(
        [
            {"item_id": row["id"], "user_id": u, "label": row["id"].split("-")[1]}
            for row in history
            for u in ("U0ANN1", "U0ANN2", "U0ANN3")
        ]
    ).to_csv(labels, index=False)
    assert "15 item(s) resolved" in bot.cli("import", "support", str(labels), "--labels").stdout
    bot.start()
    deadline = time.monotonic() + 120
    while not re.search(r"^v\d+\s+trained", bot.cli("model", "support").stdout, re.M):
        assert time.monotonic() < deadline, bot.log()
        time.sleep(1)
    out = tmp_path / "items.jsonl"
    slack.wait_for(
        lambda: (
            bot.cli("export", "support", "-o", str(out))
            and any(json.loads(line)["model_label"] for line in out.read_text().splitlines())
        ),
        timeout=60,
    )
    rows = {r["item_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["new-1"]["model_label"] == "billing" and rows["new-1"]["model_version"] == 1
    (message,) = wait_items(slack, 1)
    assert "Suggested" not in message_text(message)  # hidden from annotators by default
    for user, label in (("U0ANN1", "bug"), ("U0ANN2", "other"), ("U0ANN3", "billing")):
        slack.click(user, CHANNEL, message["ts"], f"label:{label}")
    post = slack.wait_for(
        lambda: [m for m in slack.thread(CHANNEL, message["ts"]) if "decide:" in json.dumps(m.get("blocks"))],
        timeout=30,
    )[0]
    assert "*Suggested:* *Billing*" in message_text(post)
