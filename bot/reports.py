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

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.quality import DawidSkene, LabelData, error_rate_estimate, krippendorff_alpha
from bot.quality.summary import summarize_quality
from storage.bulk import read_columns
from storage.models import (
    Audit,
    AuditStatus,
    Escalation,
    EscalationStatus,
    Item,
    ItemEvent,
    ItemStatus,
    Label,
    ModelStatus,
    ModelVersion,
    Resolution,
)

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
    """Current labels in the period, in the metrics' column contract (``item_id`` is the external id).

    Columns ``item_id``, ``user_id``, ``label``, ``final_label``, ``gold_label``, all
    categorical (each distinct string stored once), one row per current label, in no
    particular order.

    Read as columns, never as ORM objects or result rows: the labels query touches the
    labels table alone, and the item attributes come from one query over the project's
    items, attached by item id. On SQLite each column arrives as one concatenated string
    per chunk of rows (:func:`storage.bulk.read_columns`): a million labels in about a second, where
    result rows alone take several.
    """
    item_ids, external, finals, golds = read_columns(
        session,
        Item.id,
        [Item.id, Item.external_id, Item.final_label, Item.gold_label],
        [Item.project_id == project_id],
    )
    if len(item_ids) == 0:
        empty = pd.Categorical([])
        return pd.DataFrame({c: empty for c in ("item_id", "user_id", "label", "final_label", "gold_label")})
    # The project's items nearly always have consecutive ids (imported in bulk): then a
    # range is the whole filter, else the range narrows it and membership decides. On
    # SQLite "+ 0" keeps the labels table scanned in order instead of its item_id index
    # probed once per item (three times slower over a whole project); PostgreSQL plans
    # the plain column well (and the expression badly).
    low, high = int(item_ids.min()), int(item_ids.max())
    item = Label.item_id + 0 if _is_sqlite(session) else Label.item_id
    where = [period.clause(Label.updated_at)]
    consecutive = high - low + 1 == len(item_ids)
    everything = consecutive and _all_items_between(session, low, high)
    if not everything:  # (when the project has every item, every label is the project's)
        where += [item >= low, item <= high]
    if not consecutive:
        where.append(item.in_(select(Item.id).where(Item.project_id == project_id).scalar_subquery()))
    columns = [Label.item_id, Label.user_id, Label.value]
    label_item, users, values = read_columns(session, Label.id, columns, where)
    position = pd.Index(item_ids).get_indexer(label_item)
    keep = position >= 0  # a label of an item created after the items were read (PostgreSQL)
    if not keep.all():
        position, users, values = position[keep], users[keep], values[keep]

    def categorical(values: npt.NDArray[Any], take: npt.NDArray[np.intp] | None = None) -> pd.Categorical:
        codes, found = pd.factorize(values)
        uniques = pd.Index(found, dtype=object)
        missing = uniques.get_indexer([""])[0] if len(uniques) else -1  # NULL on the SQLite path
        if missing >= 0:
            codes = np.where(codes == missing, -1, codes - (codes > missing))
            uniques = uniques.delete(missing)
        return pd.Categorical.from_codes(codes if take is None else codes[take], uniques)

    return pd.DataFrame(
        {
            "item_id": pd.Categorical.from_codes(position, pd.Index(external, dtype=object)),
            "user_id": categorical(users),
            "label": categorical(values),
            "final_label": categorical(finals, position),
            "gold_label": categorical(golds, position),
        }
    )


def _all_items_between(session: Session, low: int, high: int) -> bool:
    """Whether the items table's ids run from ``low`` to ``high`` (two index lookups)."""
    first, last = session.scalar(select(func.min(Item.id))), session.scalar(select(func.max(Item.id)))
    return (low, high) == (first, last)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


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
    """The report as a JSON-ready dict; ``extras`` receives the confusion matrix for charts
    (``confusion``), the encoded labels (``labels``) and the per-annotator frame of
    :func:`bot.quality.annotator_stats` (``annotator_stats``), for private feedback."""
    notes: dict[str, str] = {}
    labels = LabelData.from_frame(load_labels(session, project_id, period))  # encoded once, used twice
    summary = summarize_quality(labels, min_overlap=project.quality.min_pair_overlap)
    if extras is not None:
        extras.update(confusion=summary.confusion, labels=labels, annotator_stats=summary.annotators)
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

    escalated, closed, auto_accepted = _closing_events(session, project_id, period)
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
            Escalation.status == EscalationStatus.DECIDED,
            period.clause(Escalation.decided_at),
        )
    ).all()
    if decisions:
        hours = [(decided - created).total_seconds() / 3600 for created, decided in decisions if decided]
        report["median_hours_to_decision"] = _round(statistics.median(hours), 4)
    else:
        report["median_hours_to_decision"] = None
        notes["median_hours_to_decision"] = "no expert decision in the period"

    report["gold_accuracy"] = _round(_metric(summary.gold_accuracy, notes, "gold_accuracy"))

    audits = session.execute(
        select(Audit.agrees, Audit.resolution)
        .join(Item, Item.id == Audit.item_id)
        .where(Item.project_id == project_id, Audit.status == AuditStatus.DONE, period.clause(Audit.done_at))
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
    report.update(_model_section(session, project_id, period, notes, report["items_resolved"], auto_accepted))
    report["notes"] = notes
    return report


def _closing_events(session: Session, project_id: int, period: Period) -> tuple[int, int, int]:
    """Items escalated, items closed (escalated, resolved or decided), and model auto-accepts
    in the period: one pass over their events.

    SQLite counts distinct items with a temporary B-tree, slower than reading the item ids
    (as columns) and counting them with numpy; other databases count in SQL.
    """
    where = [
        ItemEvent.project_id == project_id,
        ItemEvent.action.in_(["escalated", "resolved", "decided"]),
        period.clause(ItemEvent.created_at),
    ]
    is_escalated = ItemEvent.action == "escalated"
    is_auto = and_(ItemEvent.action == "resolved", ItemEvent.actor == "model")
    if not _is_sqlite(session):
        escalated, closed, auto = session.execute(
            select(
                func.count(distinct(case((is_escalated, ItemEvent.item_id)))),
                func.count(distinct(ItemEvent.item_id)),
                func.count(case((is_auto, 1))),
            ).where(*where)
        ).one()
        return int(escalated), int(closed), int(auto)
    flags = [case((is_escalated, 1), else_=0), case((is_auto, 1), else_=0)]
    item, escalation, auto_flag = read_columns(session, ItemEvent.id, [ItemEvent.item_id, *flags], where)
    return len(np.unique(item[escalation == 1])), len(np.unique(item)), int(auto_flag.sum())


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
    out.sort(key=lambda a: (-int(a["labels"] or 0), str(a["user_id"])))
    return out


def _strings(values: list[Any]) -> list[str]:
    """``str`` of each value; the list itself when all are strings already (the usual case)."""
    return values if set(map(type, values)) <= {str} else [str(v) for v in values]


#: From this many labels on, Dawid-Skene runs SQUAREM-accelerated EM (same stopping rule,
#: a fixed point of the same EM map, about a third of the EM steps). Below, plain EM is fast
#: anyway, and it stays exactly as before on the small, sometimes degenerate exports where
#: EM has several fixed points and an accelerated run may stop at another one.
ACCELERATE_FROM_LABELS = 50_000


def _dawid_skene(labels: LabelData, notes: dict[str, str]) -> dict[str, Any] | None:
    """Dawid-Skene consensus, run to convergence (see :data:`ACCELERATE_FROM_LABELS`)."""
    if len(labels) == 0:
        notes["dawid_skene"] = "no labels in the period"
        return None
    model = DawidSkene(accelerate=len(labels) >= ACCELERATE_FROM_LABELS).fit(labels)
    if not model.converged_:
        notes["dawid_skene"] = f"did not converge in {model.n_iter_} iterations"
    accuracy = model.annotator_accuracy_
    items = _strings(model.labels_.index.to_numpy(dtype=object).tolist())
    winners = _strings(model.labels_.to_numpy(dtype=object).tolist())
    return {
        "labels": dict(zip(items, winners, strict=True)),
        "annotator_accuracy": {
            str(k): _round(v) for k, v in zip(accuracy.index, accuracy.to_numpy().tolist(), strict=True)
        },
        "iterations": int(model.n_iter_),
        "converged": bool(model.converged_),
    }


def _model_section(
    session: Session, project_id: int, period: Period, notes: dict[str, str], resolved: int, auto: int
) -> dict[str, Any]:
    """The model's accuracy against final human labels, auto-accepts and their audited error rate.

    ``resolved`` items were resolved in the period, ``auto`` of them by the model.
    """
    version = session.scalar(
        select(ModelVersion.version)
        .where(ModelVersion.project_id == project_id, ModelVersion.status == ModelStatus.TRAINED)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    human = [Resolution.CONSENSUS, Resolution.EXPERT, Resolution.AUDIT]
    # Counted in SQL: no row per item comes back.
    compared, agreed = session.execute(
        select(func.count(), func.count(case((Item.model_label == Item.final_label, 1)))).where(
            Item.project_id == project_id,
            Item.model_label.is_not(None),
            Item.resolution.in_(human),
            period.clause(Item.resolved_at),
        )
    ).one()
    out: dict[str, Any] = {"model_version": version}
    if compared:
        out["model_accuracy"] = _round(agreed / compared)
    else:
        out["model_accuracy"] = None
        notes["model_accuracy"] = "no item with a model prediction was resolved by people in the period"
    out["auto_accepted_share"] = _round(auto / resolved) if resolved else None
    if not resolved:
        notes["auto_accepted_share"] = "no item was resolved in the period"
    audits = (
        session.execute(
            select(Audit.agrees)
            .join(Item, Item.id == Audit.item_id)
            .where(
                Item.project_id == project_id,
                Audit.status == AuditStatus.DONE,
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
