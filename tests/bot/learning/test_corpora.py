"""Fortune file parsing on a small fake directory, and the synthetic generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.learning.corpora import (
    CorpusError,
    list_fortune_topics,
    load_fortunes,
    make_synthetic,
    synthetic_texts,
)


@pytest.fixture
def fortunes_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fortunes"
    root.mkdir()
    (root / "computers").write_text(
        "A bug in the code is worth two in the documentation.\n%\n"
        "  Real programmers   use cat.  \n%\n"
        "A bug in the code is worth two in the documentation.\n%\n"  # duplicate within a topic
        "Shared quote about everything.\n%\n"
        "_\bU_\bn_\bd_\be_\br_\bl_\bi_\bn_\be_\bd word.\n%\n",  # nroff overstrike
        encoding="utf-8",
    )
    (root / "food").write_text(
        "Shared   quote about\neverything.\n%\n"  # same as in computers, other spacing: ambiguous
        "A waist is a terrible thing to mind.\n\t\t-- Ziggy\n%\n\n%\n",
        encoding="utf-8",
    )
    (root / "law").write_bytes("Caf\xe9 lawyers bill by the minute.\n%\n".encode("latin-1"))
    (root / "computers.dat").write_bytes(b"\x00\x00\x00\x02\x00\x00\x01\xaf")
    (root / "computers.u8").symlink_to("computers")
    return root


def test_topics_skip_index_files_and_symlinks(fortunes_dir: Path) -> None:
    assert list_fortune_topics(fortunes_dir) == ["computers", "food", "law"]


def test_load_fortunes_parses_dedupes_and_labels(fortunes_dir: Path) -> None:
    frame = load_fortunes(fortunes_dir, topics=("computers", "food", "law"))
    assert list(frame.columns) == ["text", "label"]
    rows = list(frame.itertuples(index=False, name=None))
    assert rows == [
        ("A bug in the code is worth two in the documentation.", "computers"),
        ("Real programmers   use cat.", "computers"),
        ("Underlined word.", "computers"),
        ("A waist is a terrible thing to mind.\n\t\t-- Ziggy", "food"),
        ("Café lawyers bill by the minute.", "law"),
    ]


def test_load_all_topics_and_length_filters(fortunes_dir: Path) -> None:
    assert set(load_fortunes(fortunes_dir, topics=None)["label"]) == {"computers", "food", "law"}
    short = load_fortunes(fortunes_dir, topics=None, max_chars=30)
    assert short["text"].str.len().max() <= 30
    assert len(load_fortunes(fortunes_dir, topics=None, min_chars=40)) == 2


def test_missing_topic_or_directory_is_a_clear_error(fortunes_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="available: computers, food, law"):
        load_fortunes(fortunes_dir, topics=("computers", "sports"))
    with pytest.raises(CorpusError, match="apt-get download fortunes"):
        load_fortunes(tmp_path / "nowhere")


def test_make_synthetic_is_seeded() -> None:
    a = make_synthetic(300, 4, seed=5)
    b = make_synthetic(300, 4, seed=5)
    c = make_synthetic(300, 4, seed=6)
    assert a.equals(b)
    assert not a.equals(c)
    assert list(a.columns) == ["text", "label"]
    assert set(a["label"]) == {"topic_0", "topic_1", "topic_2", "topic_3"}
    lengths = a["text"].str.split().str.len()
    assert lengths.min() >= 20 and lengths.max() <= 40


def test_make_synthetic_options() -> None:
    skewed = make_synthetic(4000, 3, seed=1, class_balance=0.1, label_prefix="c")
    shares = skewed["label"].value_counts(normalize=True)
    assert shares["c0"] > 0.6 > 0.1 > shares["c2"]
    clean = make_synthetic(500, 3, seed=2)
    noisy = make_synthetic(500, 3, seed=2, label_noise=0.5)
    changed = (clean["label"] != noisy["label"]).mean()
    assert 0.35 < changed < 0.65
    for bad in (
        {"n_classes": 1},
        {"signal": (0.5, 0.2)},
        {"doc_len": (0, 3)},
        {"class_balance": 0},
        {"vocab_size": 100},
    ):
        with pytest.raises(ValueError):
            make_synthetic(10, **bad)  # type: ignore[arg-type]


def test_synthetic_texts_have_the_requested_length() -> None:
    texts = synthetic_texts(1000, seed=3, words_per_text=30)
    assert len(texts) == 1000
    assert {len(t.split()) for t in texts} == {30}
    assert texts == synthetic_texts(1000, seed=3, words_per_text=30)
    assert synthetic_texts(0) == []
    assert np.mean([len(t) for t in texts]) > 100
