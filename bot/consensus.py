"""The consensus rule: plain Python, no Slack, no database.

An item needs ``needed`` labels. Once it has them, the winning label is the one
with the most votes and its *share* is its votes over all votes. The item is
resolved by consensus when the share is at least ``agreement``; otherwise it is
escalated to experts.

Ties: when two or more labels share the top count there is no winner, whatever
the share, and the item is escalated. Ties are never broken by row order or
label order, because either would silently bias the data set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["Outcome", "decide", "tally"]


@dataclass(frozen=True)
class Outcome:
    status: Literal["open", "resolved", "escalated"]
    winner: str | None
    share: float | None
    n_labels: int
    counts: dict[str, int]

    @property
    def tied(self) -> bool:
        if not self.counts:
            return False
        top = max(self.counts.values())
        return sum(1 for c in self.counts.values() if c == top) > 1


def tally(values: Iterable[str]) -> dict[str, int]:
    """Vote counts, most votes first, then by label (a stable order for display only)."""
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def decide(votes: Mapping[str, str], needed: int, agreement: float) -> Outcome:
    """Apply the rule to ``votes`` (user ID → label value)."""
    counts = tally(votes.values())
    n = sum(counts.values())
    if n == 0:
        return Outcome("open", None, None, 0, counts)
    top = max(counts.values())
    leaders = [label for label, c in counts.items() if c == top]
    share = top / n
    winner = leaders[0] if len(leaders) == 1 else None
    if n < needed:
        return Outcome("open", winner, share, n, counts)
    if winner is not None and share >= agreement - 1e-12:
        return Outcome("resolved", winner, share, n, counts)
    return Outcome("escalated", winner, share, n, counts)
