"""Text classification pipelines: the default model, users' own models, and model files.

Design choices, measured on this project's 2-core machine (scikit-learn 1.9; figures
from benchmarks/model_scoring.py and the notes in the docstrings below):

* Features: TF-IDF over word 1-2-grams with ``sublinear_tf`` and ``min_df=2``. ``min_df=2``
  drops hapaxes, which are about 70 % of a 50k-text bigram vocabulary, halving the
  vocabulary (408k -> 128k features) and the fit time at no loss of macro-F1;
  ``min_df=3`` saved little more and lost features on small (~300 labels) sets.
* Classifier: multinomial ``LogisticRegression(solver="saga", C=10, tol=1e-3)``. Compared
  on a synthetic 5-class set (50k labels) and the fortunes corpus (2,800 labels), it had
  the best calibration of the candidates (expected calibration error 0.016 / 0.065)
  at the same macro-F1, against 0.053 / 0.113 for ``CalibratedClassifierCV(LinearSVC)``
  (which also scores 3 models) and 0.092 / 0.065 for ``SGDClassifier(log_loss)``.
  Calibration matters because the dynamic overlap rule trusts ``confidence >= 0.9``.
  ``C=10`` beats smaller C on calibration (TF-IDF rows are L2-normalised, so weights
  must be large to reach confident probabilities). The ``saga`` solver with ``tol=1e-3``
  fits 50k texts in 2-5 s (~30 epochs); ``lbfgs`` at its default ``tol=1e-4`` reached
  the same scores in 15-43 s (60-110 iterations), and at ``tol=1e-3`` stopped early
  with macro-F1 ~0.8 points lower. ``class_weight="balanced"`` raised
  macro-F1 on the imbalanced fortunes set (0.53 -> 0.57) but nearly doubled its
  calibration error (0.065 -> 0.119), so it is an option, not the default.
* Character n-grams (``char_wb`` 2-5, beside the word n-grams) while a project is small:
  :func:`wants_char_ngrams`. On the fortunes topics (*six*, 5 seeds, 2026-12-03) they raised
  random order's macro-F1 after 1,500 labels from 0.547 to 0.614 and the default strategy's
  from 0.587 to 0.659, with a lower calibration error (5-fold, 2,981 quotes: 0.051 against
  0.066; macro-F1 0.657 against 0.606), and the default strategy then needed 55 % of random's
  labels instead of 75 %. scikit-learn's character analyzer is Python, one text at a time:
  fitting 5,000 texts took 7 s, 10,000 24 s, scoring 50,000 34.5 s (216-character texts, load
  average ~4), so a million items or 50,000 labels would be far over the cost targets. Past
  :data:`CHAR_NGRAMS_MAX_ITEMS` items or :data:`CHAR_NGRAMS_MAX_LABELS` labels the model is
  word n-grams only, as before (``model.char_ngrams: true``/``false`` forces either).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.learning import fast_tfidf

__all__ = [
    "CHAR_NGRAMS_MAX_ITEMS",
    "CHAR_NGRAMS_MAX_LABELS",
    "MODEL_FORMAT",
    "PROBE_TEXTS",
    "ModelLoadError",
    "ProbabilisticTextClassifier",
    "SavedModel",
    "build_default_pipeline",
    "load_model",
    "load_user_pipeline",
    "predict_proba_batched",
    "save_model",
    "validate_text_classifier",
    "wants_char_ngrams",
]

#: What every loaded model must be able to score: a plain list of strings.
PROBE_TEXTS: tuple[str, ...] = ("labelbot probe",)
#: Marker stored in files written by :func:`save_model`.
MODEL_FORMAT = "labelbot-model/1"


@runtime_checkable
class ProbabilisticTextClassifier(Protocol):
    """What the rest of labelbot needs from a model: classes and probabilities for raw texts."""

    classes_: Any

    def predict_proba(self, texts: Sequence[str]) -> Any:  # pragma: no cover - protocol
        ...


#: ``model.char_ngrams: auto`` adds character n-grams up to this many items in the project...
CHAR_NGRAMS_MAX_ITEMS = 50_000
#: ... and this many labels to train on (the bot's training fits 6 times: 5 folds and the final fit).
CHAR_NGRAMS_MAX_LABELS = 3_000


def wants_char_ngrams(setting: bool | str, n_items: int, n_labels: int) -> bool:
    """Whether the default model gets character n-grams: ``setting`` True/False forces it;
    ``"auto"`` (the default) while the project has at most :data:`CHAR_NGRAMS_MAX_ITEMS` items
    and :data:`CHAR_NGRAMS_MAX_LABELS` labels, where their cost stays small (module doc)."""
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise ValueError(f"char_ngrams must be true, false or 'auto', not {setting!r}")
    return n_items <= CHAR_NGRAMS_MAX_ITEMS and n_labels <= CHAR_NGRAMS_MAX_LABELS


class ModelLoadError(Exception):
    """A model file cannot be used; the message tells the user what to fix."""


def build_default_pipeline(
    char_ngrams: bool = False,
    *,
    min_df: int = 2,
    C: float = 10.0,
    class_weight: str | None = None,
    max_features: int | None = None,
    random_state: int = 0,
) -> Pipeline:
    """The default model: word 1-2-gram TF-IDF + calibrated-enough logistic regression.

    ``char_ngrams=True`` adds a character 2-5-gram TF-IDF (``char_wb``) through a
    ``FeatureUnion``. It pays on real text (module doc), but it costs about 8x the scoring
    time (measured with 2-4-grams: 100k 30-word texts in 3.7 s word-only vs 29.5 s with char
    n-grams; fitting 20k texts 3.6 s vs 15.2 s; with 2-5-grams 20k took 36 s under load), so
    the bot uses it only while a project is small (:func:`wants_char_ngrams`).
    """
    word = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )
    features: TfidfVectorizer | FeatureUnion = word
    if char_ngrams:
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            min_df=min_df,
            max_features=max_features or 200_000,
            dtype=np.float32,
        )
        features = FeatureUnion([("word", word), ("char", char)])
    classifier = LogisticRegression(
        C=C,
        solver="saga",
        tol=1e-3,
        max_iter=1000,
        class_weight=class_weight,
        random_state=random_state,
    )
    return Pipeline([("tfidf", features), ("clf", classifier)])


def validate_text_classifier(
    model: Any, labels: Iterable[str] | None = None, *, source: str = "model"
) -> Any:
    """Check that ``model`` scores raw strings into probabilities; return it or raise.

    Runs ``predict_proba(["labelbot probe"])`` and checks one row of finite, non-negative
    probabilities summing to 1 over ``classes_``. With ``labels``, every class the model
    predicts must be one of the project's labels.
    """
    if not callable(getattr(model, "predict_proba", None)):
        raise ModelLoadError(
            f"{source} is a {type(model).__name__}, which has no predict_proba; labelbot needs "
            "probabilities. Save a fitted scikit-learn Pipeline whose last step is a probabilistic "
            "classifier (e.g. LogisticRegression, or CalibratedClassifierCV around LinearSVC)."
        )
    try:
        proba = np.asarray(model.predict_proba(list(PROBE_TEXTS)), dtype=float)
    except Exception as exc:  # any failure here means the model cannot be used as is
        raise ModelLoadError(
            f"{source} cannot score a list of strings ({type(exc).__name__}: {exc}). The saved "
            "object must include its text vectorizer (e.g. a Pipeline starting with TfidfVectorizer) "
            "and be fitted."
        ) from exc
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ModelLoadError(f"{source} has no classes_; fit it before saving.")
    n_classes = len(classes)
    if proba.shape != (1, n_classes):
        raise ModelLoadError(
            f"{source}.predict_proba returned shape {proba.shape} for one text; expected (1, {n_classes})."
        )
    if (
        not np.all(np.isfinite(proba))
        or np.any(proba < 0)
        or not math.isclose(proba.sum(), 1.0, abs_tol=1e-4)
    ):
        raise ModelLoadError(f"{source}.predict_proba does not return probabilities (got {proba.tolist()}).")
    if labels is not None:
        allowed = set(labels)
        unknown = sorted(str(c) for c in classes if str(c) not in allowed)
        if unknown:
            raise ModelLoadError(
                f"{source} predicts label(s) {unknown} that are not in this project's labels "
                f"{sorted(allowed)}; retrain it on the project's label names."
            )
    return model


def _joblib_load_checked(path: Path, source: str) -> Any:
    """Unpickle with version checking: sklearn's InconsistentVersionWarning becomes an error.

    ``warnings.catch_warnings`` changes process-global state, so concurrent loads in
    threads may see each other's filters; load models from one thread (the worker).
    """
    load_error: Exception | None = None
    obj: Any = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentVersionWarning)
        try:
            obj = joblib.load(path)
        except Exception as exc:  # surfaced below, after the version check explains it better
            load_error = exc
    for w in caught:
        if issubclass(w.category, InconsistentVersionWarning):
            message = w.message
            original = getattr(message, "original_sklearn_version", "?")
            current = getattr(message, "current_sklearn_version", sklearn.__version__)
            raise ModelLoadError(
                f"{source} was saved with scikit-learn {original}, but labelbot runs scikit-learn "
                f"{current}; unpickling across versions can silently give wrong predictions. "
                f"Re-save the model with scikit-learn {current}, or retrain it."
            )
    if load_error is not None:
        raise ModelLoadError(
            f"{source} could not be loaded ({type(load_error).__name__}: {load_error}); it must be a "
            "file written by joblib.dump with the same Python packages labelbot uses."
        ) from load_error
    return obj


def load_user_pipeline(path: str | Path, labels: Iterable[str] | None = None) -> Any:
    """Load and validate a user's own joblib-saved text classifier.

    Security: a joblib file is a pickle, and loading it runs arbitrary code with the
    bot's privileges. Only load files from people trusted with the server (the project
    admins who upload them), never from arbitrary Slack users.

    The object must have ``predict_proba``, accept a list of strings (checked with
    ``["labelbot probe"]``), and have been saved with this exact scikit-learn version:
    scikit-learn's ``InconsistentVersionWarning`` is turned into a :class:`ModelLoadError`
    naming both versions. Files written by :func:`save_model` are accepted too (their
    pipeline is returned). ``labels``: the project's labels; the model may not predict
    others. Every problem raises :class:`ModelLoadError` with an actionable message.
    """
    path = Path(path)
    source = f"model file {path.name}"
    if not path.is_file():
        raise ModelLoadError(f"{source} does not exist at {path}; upload it or fix the path.")
    obj = _joblib_load_checked(path, source)
    if isinstance(obj, Mapping) and obj.get("format") == MODEL_FORMAT:
        _check_version(str(obj.get("sklearn_version")), source)
        obj = obj["pipeline"]
    return validate_text_classifier(obj, labels, source=source)


@dataclass(frozen=True)
class SavedModel:
    """A model written by :func:`save_model`, with what was stored alongside it."""

    pipeline: Any
    sklearn_version: str
    saved_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _check_version(saved: str, source: str) -> None:
    if saved != sklearn.__version__:
        raise ModelLoadError(
            f"{source} was saved with scikit-learn {saved}, but labelbot runs scikit-learn "
            f"{sklearn.__version__}; retrain the model (labelbot retrain) to use it."
        )


def save_model(pipeline: Any, path: str | Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save one of our trained pipelines with joblib, plus a JSON sidecar ``<path>.json``.

    The sidecar holds the scikit-learn version, save time and ``metadata`` (values JSON
    cannot hold, such as datetimes, are written as ``str()`` there and kept as objects in
    the joblib file), so :func:`load_model` can refuse a stale model *before*
    unpickling it. Both files are written to a temporary name and renamed, so a bot
    process never reads a half-written model while the worker saves a new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(metadata or {})
    saved_at = datetime.now(UTC)
    header = {
        "format": MODEL_FORMAT,
        "sklearn_version": sklearn.__version__,
        "saved_at": saved_at.isoformat(),
        "metadata": meta,
    }
    try:
        sidecar_text = json.dumps(header, indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model metadata must be JSON-serialisable: {exc}") from exc
    payload = {**header, "pipeline": pipeline}
    for target, writer in (
        (path, lambda tmp: joblib.dump(payload, tmp)),
        (_sidecar(path), lambda tmp: Path(tmp).write_text(sidecar_text, encoding="utf-8")),
    ):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            writer(tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def load_model(path: str | Path, labels: Iterable[str] | None = None) -> SavedModel:
    """Load a model written by :func:`save_model`, refusing one from another sklearn version.

    The version is read from the JSON sidecar first (no code runs for a stale model), then
    checked again inside the file. Like any joblib file this unpickles, so it must only
    read files labelbot itself wrote. Raises :class:`ModelLoadError`.
    """
    path = Path(path)
    source = f"model file {path.name}"
    if not path.is_file():
        raise ModelLoadError(f"{source} does not exist at {path}; train a model first.")
    sidecar = _sidecar(path)
    if sidecar.is_file():
        try:
            header = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{sidecar.name} is unreadable ({exc}); retrain the model.") from exc
        _check_version(str(header.get("sklearn_version")), source)
    obj = _joblib_load_checked(path, source)
    if not isinstance(obj, Mapping) or obj.get("format") != MODEL_FORMAT:
        raise ModelLoadError(
            f"{source} was not written by labelbot's save_model; load it with load_user_pipeline."
        )
    _check_version(str(obj.get("sklearn_version")), source)
    pipeline = validate_text_classifier(obj["pipeline"], labels, source=source)
    return SavedModel(
        pipeline=pipeline,
        sklearn_version=str(obj["sklearn_version"]),
        saved_at=datetime.fromisoformat(str(obj["saved_at"])),
        metadata=dict(obj.get("metadata") or {}),
    )


def _predict_chunk(model: Any, texts: Sequence[str]) -> np.ndarray:
    """``model.predict_proba(texts)``; a pipeline that starts with a TF-IDF step that
    :mod:`bot.learning.fast_tfidf` reproduces gets its features from there (same matrix, ~4x faster)."""
    if isinstance(model, Pipeline) and len(model.steps) > 1 and fast_tfidf.supports(model.steps[0][1]):
        features = fast_tfidf.transform(model.steps[0][1], texts)
        return np.asarray(model[1:].predict_proba(features), dtype=np.float32)
    return np.asarray(model.predict_proba(texts), dtype=np.float32)


def predict_proba_batched(
    model: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 50_000,
    n_jobs: int = 1,
) -> np.ndarray:
    """``model.predict_proba`` over many texts in chunks, as a float32 ``(n, k)`` array.

    Chunking bounds the memory of the sparse feature matrix (a 1M-text matrix would be
    ~1.5 GB at once). ``n_jobs > 1`` scores chunks in joblib worker processes, since
    TF-IDF tokenisation is single-threaded Python; it only pays when cores are idle.
    Measured for 1M 30-word texts with scikit-learn's own features (benchmarks/model_scoring.py,
    4 sessions of 3-5 runs on the shared 2-core machine): n_jobs=1 medians 48-64 s, fastest run
    38 s; n_jobs=2 fastest run 31 s, but medians 53-117 s whenever other processes held the
    cores, as the workers also pay for copying the model and texts. Default: 1 (and with the
    Arrow features, ``_predict_chunk``, one process scores 1M texts in 16-17 s).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    n = len(texts)
    k = len(model.classes_)
    if n == 0:
        return np.empty((0, k), dtype=np.float32)
    chunks = (list(texts[i : i + batch_size]) for i in range(0, n, batch_size))
    if n_jobs == 1 or n <= batch_size:
        parts = [_predict_chunk(model, chunk) for chunk in chunks]
    else:
        parts = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_predict_chunk)(model, chunk) for chunk in chunks
        )
    return np.concatenate(parts, axis=0)
