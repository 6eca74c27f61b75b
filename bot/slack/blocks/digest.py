"""Block Kit for the quality digest (pure: report dicts in, blocks out)."""

from __future__ import annotations

from typing import Any

from bot.config import ProjectConfig
from bot.slack.blocks.text import escape

__all__ = ["digest_message", "stats_message"]


def _num(value: Any, pattern: str = "{:.2f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _delta(now: Any, before: Any, pattern: str = "{:+.2f}") -> str:
    if now is None or before is None:
        return ""
    if now == before:
        return " (→ same as last period)"
    arrow = "↑" if now > before else "↓"
    return f" ({arrow} {pattern.format(now - before)} vs last period)"


def _fields(report: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    prev = previous or {}
    ci = report.get("audit_error_ci")
    audit = "n/a"
    if report.get("audit_error_rate") is not None and ci:
        rate, n = report["audit_error_rate"], report.get("audits", 0)
        audit = f"{rate:.1%} (95% CI {ci[0]:.1%}–{ci[1]:.1%}, {n} audits)"
    return [
        f"*Labels*\n{report['labels']}{_delta(report['labels'], prev.get('labels'), '{:+d}')}",
        f"*Items resolved*\n{report['items_resolved']}"
        f"{_delta(report['items_resolved'], prev.get('items_resolved'), '{:+d}')}",
        f"*Backlog*\n{report['backlog']} queued or open",
        f"*Annotators*\n{report.get('annotators_count', 0)} labeled in the period",
        f"*Agreement (Krippendorff's α)*\n{_num(report['krippendorff_alpha'])}"
        f"{_delta(report['krippendorff_alpha'], prev.get('krippendorff_alpha'))}",
        f"*Fleiss' κ / mean Cohen's κ*\n{_num(report['fleiss_kappa'])} / {_num(report['mean_cohen_kappa'])}",
        f"*Escalation rate*\n{_num(report['escalation_rate'], '{:.0%}')}; median "
        f"{_num(report['median_hours_to_decision'], '{:.1f}')} h to decision",
        f"*Gold accuracy*\n{_num(report['gold_accuracy'], '{:.0%}')}",
        f"*Audit error rate*\n{audit}",
    ]


def digest_message(
    project: ProjectConfig, report: dict[str, Any], previous: dict[str, Any] | None, period_label: str
) -> dict[str, Any]:
    """The digest: period, throughput vs the previous period, agreement with trend, escalations,
    gold accuracy, the audit estimate and the most confused labels.

    It is posted in a channel, so it shows counts and project figures only: never a person's
    figures, name or mention (those go privately: ``bot.slack.blocks.feedback``)."""

    def text_of(value: str) -> str:
        option = project.label(value)
        return escape(option.text if option else value)

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Quality digest: {project.name}"[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(period_label)}]},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in _fields(report, previous)],
        },
    ]
    pairs = report.get("confused_pairs") or []
    if pairs:
        lines = "\n".join(f"• {text_of(a)} ↔ {text_of(b)}: {n}" for a, b, n in pairs[:5])
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Most confused labels*\n{lines}"}}
        )
    if report.get("model_version") is not None:
        accuracy = _num(report.get("model_accuracy"), "{:.0%}")
        share = _num(report.get("auto_accepted_share"), "{:.0%}")
        error = _num(report.get("auto_accept_error_rate"), "{:.0%}")
        line = (
            f"Model v{report['model_version']}: accuracy {accuracy} against people; "
            f"auto-accepted {share}, their audited error {error}"
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    notes = report.get("notes") or {}
    if notes:
        text = "; ".join(f"{k}: {escape(v)}" for k, v in list(notes.items())[:8])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"_n/a:_ {text}"[:3000]}]})
    fallback = (
        f"Quality digest for {escape(project.name)}, {escape(period_label)}: {report['labels']} labels, "
        f"alpha {_num(report['krippendorff_alpha'])}"
    )
    return {"text": fallback, "blocks": blocks}


def stats_message(project: ProjectConfig, report: dict[str, Any], period_label: str) -> dict[str, Any]:
    """``/label stats``: the same numbers, for one person."""
    return digest_message(project, report, None, period_label)
