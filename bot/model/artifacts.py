"""Trained models stored in the database (``model_artifacts``), so that any host can score.

A version's bytes are the joblib dump (zlib-compressed) of the same payload ``save_model`` writes
to a file: the format marker, the scikit-learn version, the save time, metadata and the fitted
pipeline. They are written in the transaction that records the version, so a version is never
listed without its model. The scikit-learn version is also a column, checked before unpickling: a
model saved by another version is refused without running its code. A process keeps the models it
loaded, by (project, version, digest): a version never changes once written.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import joblib
import sklearn
from sklearn.exceptions import InconsistentVersionWarning
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.learning.pipeline import MODEL_FORMAT, ModelLoadError, validate_text_classifier
from storage.models import ModelArtifact

__all__ = [
    "DEFAULT_MAX_MB",
    "MAX_MB_SETTING",
    "ArtifactTooLarge",
    "check_size",
    "dump_model",
    "has_artifact",
    "load_artifact",
    "max_bytes",
    "save_artifact",
]

MAX_MB_SETTING = "LABELBOT_MODEL_MAX_MB"
DEFAULT_MAX_MB = 200
CACHED_MODELS = 4  # loaded models a process keeps (one or two projects' newest versions)

_cache: dict[tuple[int, int, str], Any] = {}
_cache_guard = threading.Lock()


class ArtifactTooLarge(ValueError):
    """A trained model above ``LABELBOT_MODEL_MAX_MB``: recorded as the version's failure."""


def max_bytes(env: Mapping[str, str] | None = None) -> int:
    """The largest model stored, from ``LABELBOT_MODEL_MAX_MB`` (default 200); a value that is
    not a positive number raises ``ValueError`` naming the setting."""
    env = os.environ if env is None else env
    raw = env.get(MAX_MB_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 1024 * 1024
    try:
        mb = float(raw)
    except ValueError:
        mb = 0.0
    if not mb > 0 or mb != mb or mb == float("inf"):
        raise ValueError(f"{MAX_MB_SETTING} must be a positive number of megabytes, e.g. 200 (got {raw!r})")
    return int(mb * 1024 * 1024)


def dump_model(pipeline: Any, metadata: Mapping[str, Any] | None = None) -> bytes:
    """The bytes stored for a trained pipeline (what ``save_model`` puts in its file)."""
    payload = {
        "format": MODEL_FORMAT,
        "sklearn_version": sklearn.__version__,
        "saved_at": datetime.now(UTC).isoformat(),
        "metadata": dict(metadata or {}),
        "pipeline": pipeline,
    }
    buffer = io.BytesIO()
    joblib.dump(payload, buffer, compress=("zlib", 3))
    return buffer.getvalue()


def check_size(data: bytes, version: int, *, limit: int | None = None, project_key: str = "") -> None:
    """:class:`ArtifactTooLarge` when ``data`` is above ``limit`` (default: :func:`max_bytes`)."""
    limit = max_bytes() if limit is None else limit
    if len(data) > limit:
        raise ArtifactTooLarge(
            f"model v{version}{f' of {project_key}' if project_key else ''} is "
            f"{len(data) / 1048576:.3g} MB, above {MAX_MB_SETTING}={limit / 1048576:.3g}; raise "
            f"{MAX_MB_SETTING} or make the model smaller (fewer features, no character n-grams)"
        )


def save_artifact(
    session: Session,
    project_id: int,
    version: int,
    data: bytes,
    *,
    limit: int | None = None,
    project_key: str = "",
) -> ModelArtifact:
    """Add a version's bytes to the session (the caller's transaction records the version too);
    :class:`ArtifactTooLarge` above ``limit`` (default: :func:`max_bytes`)."""
    check_size(data, version, limit=limit, project_key=project_key)
    row = ModelArtifact(
        project_id=project_id,
        version=version,
        sklearn_version=sklearn.__version__,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
    session.add(row)
    return row


def has_artifact(session: Session, project_id: int, version: int) -> bool:
    return (
        session.scalar(
            select(ModelArtifact.version).where(
                ModelArtifact.project_id == project_id, ModelArtifact.version == version
            )
        )
        is not None
    )


def load_artifact(
    session: Session, project_id: int, version: int, labels: Iterable[str] | None = None
) -> Any | None:
    """The fitted pipeline of a version stored in the database; None when it has no artifact (an
    older version saved as a file). Raises :class:`ModelLoadError` for one that cannot be used."""
    head = session.execute(
        select(ModelArtifact.sha256, ModelArtifact.sklearn_version).where(
            ModelArtifact.project_id == project_id, ModelArtifact.version == version
        )
    ).first()
    if head is None:
        return None
    digest, saved_with = head
    source = f"model v{version} (stored in the database)"
    if saved_with != sklearn.__version__:
        raise ModelLoadError(
            f"{source} was saved with scikit-learn {saved_with}, but labelbot runs scikit-learn "
            f"{sklearn.__version__}; retrain the model (labelbot model PROJECT --train) to use it."
        )
    key = (project_id, version, digest)
    with _cache_guard:
        if key in _cache:
            return _cache[key]
    data = session.scalar(
        select(ModelArtifact.data).where(
            ModelArtifact.project_id == project_id, ModelArtifact.version == version
        )
    )
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        raise ModelLoadError(f"{source} does not match its recorded digest; retrain the model.")
    pipeline = validate_text_classifier(_unpickle(bytes(data), source)["pipeline"], labels, source=source)
    with _cache_guard:
        while len(_cache) >= CACHED_MODELS:
            _cache.pop(next(iter(_cache)))
        _cache[key] = pipeline
    return pipeline


def _unpickle(data: bytes, source: str) -> dict[str, Any]:
    """Load the payload; scikit-learn's ``InconsistentVersionWarning`` is an error, as for files."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentVersionWarning)
        try:
            obj = joblib.load(io.BytesIO(data))
        except Exception as exc:  # a damaged or foreign payload: say what to do
            raise ModelLoadError(
                f"{source} cannot be read ({type(exc).__name__}); retrain the model."
            ) from exc
    if any(issubclass(w.category, InconsistentVersionWarning) for w in caught):
        raise ModelLoadError(f"{source} was saved with another scikit-learn; retrain the model.")
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT or "pipeline" not in obj:
        raise ModelLoadError(f"{source} is not a labelbot model; retrain the model.")
    return obj
