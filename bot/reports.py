"""The quality report of a project over a period: the numbers behind ``labelbot quality`` and the digest.

Reads columns, not ORM objects (a million labels in seconds), hands them to the
pure metrics in :mod:`bot.quality`, and adds what lives in the database:
escalations, decisions, audits, throughput. Every metric that cannot be
computed is ``None`` with its reason under ``notes``.

Period rules: labels are selected by the time of their current value (UTC),
``since`` inclusive and ``until`` exclusive; items resolved, escalations,
decisions and audits by the time they happened.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.quality import DawidSkene, error_rate_estimate, krippendorff_alpha
from bot.quality.summary import summarize_quality
from storage.models import Audit, Escalation, Item, ItemEvent, ItemStatus, Label, ModelVersion, Resolution

__all__ = ["Period", "build_report", "load_labels", "weekly_trend"]


@dataclass(frozen=True)
class Period:
    since: datetime | None = None
    until: datetime | None = None

    def clause(self, column: Any) -> Any:
        parts = []
        if self.since is not None:
            parts.append(column >= self.since)
        if self.until is not None:
            parts.append(column < self.until)
        return and_(*parts) if parts else True

    def as_dict(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def load_labels(session: Session, project_id: int, period: Period) -> pd.DataFrame:
    """Current labels in the period, in the metrics' column contract (``item_id`` is the external id)."""
    rows = session.execute(
        select(Item.external_id, Label.user_id, Label.value, Item.final_label, Item.gold_label)
        .join(Item, Item.id == Label.item_id)
        .where(Item.project_id == project_id, period.clause(Label.updated_at))
    ).all()
    return pd.DataFrame.from_records(
        rows, columns=["item_id", "user_id", "label", "final_label", "gold_label"]
    )


def _metric(value: Any, notes: dict[str, str], key: str) -> float | None:
    if value.value is None:
        notes[key] = value.reason or "cannot be computed"
        return None
    return float(value.value)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, digits)


def weekly_trend(session: Session, project_id: int, end: datetime, weeks: int = 8) -> list[dict[str, Any]]:
    """Labels and Krippendorff's alpha per week, for the ``weeks`` weeks before ``end`` (oldest first)."""
    start = end - timedelta(weeks=weeks)
    rows = session.execute(
        select(Item.external_id, Label.user_id, Label.value, Label.updated_at)
        .join(Item, Item.id == Label.item_id)
        .where(Item.project_id == project_id, Label.updated_at >= start, Label.updated_at < end)
    ).all()
    frame = pd.DataFrame.from_records(rows, columns=["item_id", "user_id", "label", "at"])
    out = []
    for week in range(weeks):
        lo, hi = start + timedelta(weeks=week), start + timedelta(weeks=week + 1)
        part = frame[(frame["at"] >= lo) & (frame["at"] < hi)] if not frame.empty else frame
        alpha = krippendorff_alpha(part[["item_id", "user_id", "label"]]).value if len(part) else None
        out.append({"label": hi.strftime("%m-%d"), "labels": len(part), "alpha": alpha})
    return out


def build_report(
    session: Session,
    project: ProjectConfig,
    project_id: int,
    period: Period,
    *,
    dawid_skene: bool = True,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict; ``extras`` receives the confusion matrix for charts."""
    notes: dict[str, str] = {}
    labels = load_labels(session, project_id, period)
    summary = summarize_quality(labels, min_overlap=project.quality.min_pair_overlap)
    if extras is not None:
        extras["confusion"] = summary.confusion
    report: dict[str, Any] = {"project": project.key, "period": period.as_dict()}

    report["items_resolved"] = (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(
                Item.project_id == project_id,
                Item.status == ItemStatus.RESOLVED,
                period.clause(Item.resolved_at),
            )
        )
        or 0
    )
    report["labels"] = int(summary.n_labels)
    report["annotators_count"] = int(summary.n_annotators)
    report["backlog"] = (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, Item.status.in_([ItemStatus.QUEUED, ItemStatus.OPEN]))
        )
        or 0
    )
    report["krippendorff_alpha"] = _round(_metric(summary.krippendorff_alpha, notes, "krippendorff_alpha"))
    report["fleiss_kappa"] = _round(_metric(summary.fleiss_kappa, notes, "fleiss_kappa"))
    report["mean_cohen_kappa"] = _round(_metric(summary.mean_cohen_kappa, notes, "mean_cohen_kappa"))

    escalated = (
        session.scalar(
            select(func.count(distinct(ItemEvent.item_id))).where(
                ItemEvent.project_id == project_id,
                ItemEvent.action == "escalated",
                period.clause(ItemEvent.created_at),
            )
        )
        or 0
    )
    closed = (
        session.scalar(
            select(func.count(distinct(ItemEvent.item_id))).where(
                ItemEvent.project_id == project_id,
                ItemEvent.action.in_(["escalated", "resolved", "decided"]),
                period.clause(ItemEvent.created_at),
            )
        )
        or 0
    )
    report["escalations"] = int(escalated)
    if closed:
        report["escalation_rate"] = _round(escalated / closed)
    else:
        report["escalation_rate"] = None
        notes["escalation_rate"] = "no item was escalated or resolved in the period"

    decisions = session.execute(
        select(Escalation.created_at, Escalation.decided_at)
        .join(Item, Item.id == Escalation.item_id)
        .where(
            Item.project_id == project_id,
            Escalation.status == "decided",
            period.clause(Escalation.decided_at),
        )
    ).all()
    if decisions:
        hours = [(decided - created).total_seconds() / 3600 for created, decided in decisions]
        report["median_hours_to_decision"] = _round(statistics.median(hours), 4)
    else:
        report["median_hours_to_decision"] = None
        notes["median_hours_to_decision"] = "no expert decision in the period"

    report["gold_accuracy"] = _round(_metric(summary.gold_accuracy, notes, "gold_accuracy"))

    audits = session.execute(
        select(Audit.agrees, Audit.resolution)
        .join(Item, Item.id == Audit.item_id)
        .where(Item.project_id == project_id, Audit.status == "done", period.clause(Audit.done_at))
    ).all()
    errors = sum(1 for agrees, _ in audits if not agrees)
    estimate = error_rate_estimate(errors, len(audits))
    if audits:
        report["audit_error_rate"] = _round(estimate.rate)
        report["audit_error_ci"] = [_round(estimate.interval.low), _round(estimate.interval.high)]
    else:
        report["audit_error_rate"] = None
        report["audit_error_ci"] = None
        notes["audit_error_rate"] = "no audit was completed in the period"
    report["audits"] = len(audits)

    report["confused_pairs"] = [[str(a), str(b), int(n)] for a, b, n in summary.top_confusions]
    report["annotators"] = _annotators(summary.annotators)
    report["dawid_skene"] = _dawid_skene(labels, notes) if dawid_skene else None
    report.update(_model_section(session, project_id, period, notes))
    report["notes"] = notes
    return report


def _annotators(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per annotator, from :func:`bot.quality.summary.summarize_quality`'s frame (indexed by user)."""

    def num(value: Any) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    out = [
        {
            "user_id": str(user),
            "labels": int(row["n_labels"]),
            "gold_accuracy": _round(num(row["gold_accuracy"])),
            "agreement_with_final": _round(num(row["final_agreement"])),
            "mean_cohen_kappa": _round(num(row["mean_kappa"])),
        }
        for user, row in frame.iterrows()
    ]
    out.sort(key=lambda a: (-a["labels"], a["user_id"]))
    return out


def _dawid_skene(labels: pd.DataFrame, notes: dict[str, str]) -> dict[str, Any] | None:
    if labels.empty:
        notes["dawid_skene"] = "no labels in the period"
        return None
    model = DawidSkene().fit(labels[["item_id", "user_id", "label"]])
    if not model.converged_:
        notes["dawid_skene"] = f"did not converge in {model.n_iter_} iterations"
    return {
        "labels": {str(k): str(v) for k, v in model.labels_.items()},
        "annotator_accuracy": {str(k): _round(float(v)) for k, v in model.annotator_accuracy_.items()},
        "iterations": int(model.n_iter_),
        "converged": bool(model.converged_),
    }


def _model_section(
    session: Session, project_id: int, period: Period, notes: dict[str, str]
) -> dict[str, Any]:
    """The model's accuracy against final human labels, auto-accepts and their audited error rate."""
    version = session.scalar(
        select(ModelVersion.version)
        .where(ModelVersion.project_id == project_id, ModelVersion.status == "trained")
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    human = [Resolution.CONSENSUS, Resolution.EXPERT, Resolution.AUDIT]
    pairs = session.execute(
        select(Item.model_label, Item.final_label).where(
            Item.project_id == project_id,
            Item.model_label.is_not(None),
            Item.resolution.in_(human),
            period.clause(Item.resolved_at),
        )
    ).all()
    out: dict[str, Any] = {"model_version": version}
    if pairs:
        out["model_accuracy"] = _round(sum(m == f for m, f in pairs) / len(pairs))
    else:
        out["model_accuracy"] = None
        notes["model_accuracy"] = "no item with a model prediction was resolved by people in the period"
    resolved = (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(
                Item.project_id == project_id,
                Item.status == ItemStatus.RESOLVED,
                period.clause(Item.resolved_at),
            )
        )
        or 0
    )
    auto = (
        session.scalar(
            select(func.count())
            .select_from(ItemEvent)
            .where(
                ItemEvent.project_id == project_id,
                ItemEvent.action == "resolved",
                ItemEvent.actor == "model",
                period.clause(ItemEvent.created_at),
            )
        )
        or 0
    )
    out["auto_accepted_share"] = _round(auto / resolved) if resolved else None
    if not resolved:
        notes["auto_accepted_share"] = "no item was resolved in the period"
    audits = (
        session.execute(
            select(Audit.agrees)
            .join(Item, Item.id == Audit.item_id)
            .where(
                Item.project_id == project_id,
                Audit.status == "done",
                Audit.resolution == Resolution.MODEL,
                period.clause(Audit.done_at),
            )
        )
        .scalars()
        .all()
    )
    out["auto_accept_error_rate"] = _round(sum(1 for a in audits if not a) / len(audits)) if audits else None
    if not audits:
        notes["auto_accept_error_rate"] = "no audit of an auto-accepted label in the period"
    return out
