"""The default pipeline, users' own models, and our saved models."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import sklearn.base
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

import bot.learning.pipeline as pipeline_module
from bot.learning.pipeline import (
    CHAR_NGRAMS_MAX_ITEMS,
    CHAR_NGRAMS_MAX_LABELS,
    ModelLoadError,
    build_default_pipeline,
    load_model,
    load_user_pipeline,
    predict_proba_batched,
    save_model,
    wants_char_ngrams,
)


@pytest.fixture(scope="module")
def fitted(small_corpus: pd.DataFrame) -> Pipeline:
    return build_default_pipeline().fit(small_corpus["text"], small_corpus["label"])


def test_default_pipeline_learns_and_gives_probabilities(
    small_corpus: pd.DataFrame, fitted: Pipeline
) -> None:
    assert list(fitted.classes_) == ["topic_0", "topic_1", "topic_2"]
    proba = fitted.predict_proba(list(small_corpus["text"][:50]))
    assert proba.shape == (50, 3)
    assert proba.sum(axis=1) == pytest.approx(np.ones(50), abs=1e-6)
    accuracy = (fitted.predict(small_corpus["text"]) == small_corpus["label"]).mean()
    assert accuracy > 0.9
    assert fitted.predict_proba(["labelbot probe"]).shape == (1, 3)


def test_char_ngrams_add_a_feature_union(small_corpus: pd.DataFrame) -> None:
    pipe = build_default_pipeline(char_ngrams=True)
    assert isinstance(pipe.named_steps["tfidf"], FeatureUnion)
    pipe.fit(small_corpus["text"], small_corpus["label"])
    assert pipe.predict_proba(["a few words"]).shape == (1, 3)


def test_char_ngrams_are_on_while_a_project_is_small_unless_forced() -> None:
    assert wants_char_ngrams("auto", 2_000, 20)
    assert wants_char_ngrams("auto", CHAR_NGRAMS_MAX_ITEMS, CHAR_NGRAMS_MAX_LABELS)
    assert not wants_char_ngrams("auto", CHAR_NGRAMS_MAX_ITEMS + 1, 20)
    assert not wants_char_ngrams("auto", 2_000, CHAR_NGRAMS_MAX_LABELS + 1)
    assert wants_char_ngrams(True, 10**6, 50_000)
    assert not wants_char_ngrams(False, 100, 20)
    with pytest.raises(ValueError, match="true, false or 'auto'"):
        wants_char_ngrams("sometimes", 100, 20)


def test_char_ngrams_are_word_padded_2_to_5_grams() -> None:
    char = build_default_pipeline(char_ngrams=True).named_steps["tfidf"].transformer_list[1][1]
    char.fit(["lunch menu", "lunch break"])
    assert char.analyzer == "char_wb" and char.ngram_range == (2, 5)
    assert {" lu", "unch ", "lunc"} <= set(char.vocabulary_)


def test_user_pipeline_valid(tmp_path: Path, fitted: Pipeline) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = load_user_pipeline(path, labels=["topic_0", "topic_1", "topic_2", "spare"])
    assert loaded.predict_proba(["x y z"]).shape == (1, 3)


def test_user_pipeline_without_predict_proba(tmp_path: Path, small_corpus: pd.DataFrame) -> None:
    svc = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LinearSVC())]).fit(
        small_corpus["text"], small_corpus["label"]
    )
    path = tmp_path / "svc.joblib"
    joblib.dump(svc, path)
    with pytest.raises(ModelLoadError, match=r"no predict_proba.*CalibratedClassifierCV"):
        load_user_pipeline(path)


def test_user_model_that_cannot_take_strings(tmp_path: Path) -> None:
    numeric = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), ["a", "a", "b", "b"])
    path = tmp_path / "numeric.joblib"
    joblib.dump(numeric, path)
    with pytest.raises(ModelLoadError, match="cannot score a list of strings"):
        load_user_pipeline(path)


def test_unfitted_pipeline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unfitted.joblib"
    joblib.dump(build_default_pipeline(), path)
    with pytest.raises(ModelLoadError, match="cannot score"):
        load_user_pipeline(path)


def test_user_model_with_unknown_labels(tmp_path: Path, fitted: Pipeline) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    with pytest.raises(ModelLoadError, match=r"\['topic_2'\].*not in this project's labels"):
        load_user_pipeline(path, labels=["topic_0", "topic_1"])


def test_user_model_from_another_sklearn_version(
    tmp_path: Path, fitted: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.joblib"
    monkeypatch.setattr(sklearn.base, "__version__", "0.24.2")  # what __getstate__ records
    joblib.dump(fitted, path)
    monkeypatch.undo()
    with pytest.raises(ModelLoadError) as excinfo:
        load_user_pipeline(path)
    message = str(excinfo.value)
    assert "scikit-learn 0.24.2" in message
    assert f"scikit-learn {sklearn.__version__}" in message
    assert "Re-save" in message


def test_version_warning_becomes_an_error(
    tmp_path: Path, fitted: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)

    def warning_load(_: Any) -> Pipeline:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name="LogisticRegression",
                current_sklearn_version=sklearn.__version__,
                original_sklearn_version="1.3.0",
            ),
            stacklevel=1,
        )
        return fitted

    monkeypatch.setattr(pipeline_module.joblib, "load", warning_load)
    with pytest.raises(ModelLoadError, match=r"saved with scikit-learn 1\.3\.0"):
        load_user_pipeline(path)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_user_pipeline(tmp_path / "nope.joblib")
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"this is not a pickle")
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_user_pipeline(garbage)


def test_save_and_load_model_round_trip(tmp_path: Path, fitted: Pipeline) -> None:
    path = save_model(fitted, tmp_path / "models" / "p1.joblib", {"n_labels": 300, "project": "p1"})
    sidecar = json.loads((tmp_path / "models" / "p1.joblib.json").read_text())
    assert sidecar["sklearn_version"] == sklearn.__version__
    assert sidecar["metadata"] == {"n_labels": 300, "project": "p1"}
    saved = load_model(path)
    assert saved.sklearn_version == sklearn.__version__
    assert saved.metadata["project"] == "p1"
    texts = ["alpha beta", "gamma"]
    assert saved.pipeline.predict_proba(texts) == pytest.approx(fitted.predict_proba(texts))
    assert not list((tmp_path / "models").glob("*.tmp"))
    # A user pipeline loader accepts our format too.
    assert list(load_user_pipeline(path).classes_) == list(fitted.classes_)


def test_load_model_refuses_another_version_before_unpickling(
    tmp_path: Path, fitted: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_model(fitted, tmp_path / "p.joblib")
    sidecar = tmp_path / "p.joblib.json"
    header = json.loads(sidecar.read_text())
    header["sklearn_version"] = "1.0.2"
    sidecar.write_text(json.dumps(header))

    def must_not_load(_: Any) -> None:
        raise AssertionError("unpickled a model of the wrong version")

    monkeypatch.setattr(pipeline_module.joblib, "load", must_not_load)
    with pytest.raises(ModelLoadError, match=rf"scikit-learn 1\.0\.2.*scikit-learn {sklearn.__version__}"):
        load_model(path)


def test_load_model_checks_the_version_inside_the_file(tmp_path: Path, fitted: Pipeline) -> None:
    path = save_model(fitted, tmp_path / "p.joblib")
    (tmp_path / "p.joblib.json").unlink()
    payload = joblib.load(path)
    payload["sklearn_version"] = "9.9.9"
    joblib.dump(payload, path)
    with pytest.raises(ModelLoadError, match=r"9\.9\.9"):
        load_model(path)


def test_load_model_refuses_foreign_files(tmp_path: Path, fitted: Pipeline) -> None:
    path = tmp_path / "raw.joblib"
    joblib.dump(fitted, path)
    with pytest.raises(ModelLoadError, match="not written by labelbot"):
        load_model(path)
    with pytest.raises(ModelLoadError, match="train a model first"):
        load_model(tmp_path / "absent.joblib")


def test_metadata_values_json_cannot_hold_are_stored_as_text(tmp_path: Path, fitted: Pipeline) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    save_model(fitted, tmp_path / "m.joblib", {"trained_at": when})
    sidecar = json.loads((tmp_path / "m.joblib.json").read_text())
    assert sidecar["metadata"]["trained_at"] == "2024-05-01 12:00:00+00:00"
    assert load_model(tmp_path / "m.joblib").metadata["trained_at"] == when


def test_batched_scoring_matches_direct(fitted: Pipeline, small_corpus: pd.DataFrame) -> None:
    texts = list(small_corpus["text"])
    direct = fitted.predict_proba(texts)
    batched = predict_proba_batched(fitted, texts, batch_size=70)
    assert batched.dtype == np.float32
    assert batched == pytest.approx(direct, abs=1e-6)
    parallel = predict_proba_batched(fitted, texts, batch_size=100, n_jobs=2)
    assert parallel == pytest.approx(direct, abs=1e-6)
    assert predict_proba_batched(fitted, []).shape == (0, 3)
    with pytest.raises(ValueError):
        predict_proba_batched(fitted, texts, batch_size=0)
