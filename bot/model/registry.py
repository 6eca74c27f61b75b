"""The versions of a project's model, as recorded in the database (their models too, in
``model_artifacts``: ``bot.model.artifacts``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import ModelVersion

__all__ = ["next_version", "versions"]


def versions(session: Session, project_id: int) -> list[ModelVersion]:
    """Every version, trained or failed, oldest first."""
    return list(
        session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == project_id).order_by(ModelVersion.version)
        )
    )


def next_version(session: Session, project_id: int) -> int:
    latest = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )
    return int(latest or 0) + 1
