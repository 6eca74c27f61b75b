"""Combine detectors and custom patterns, resolve overlaps once, replace."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.privacy.detectors import DETECTORS, Span

__all__ = ["CustomPattern", "Redactor", "redactor", "resolve"]

#: Texts remembered per redactor (the open items' cards, refreshed on each label, hit it), and the
#: longest text remembered: at most about 10 million characters held.
CACHE_SIZE = 1024
CACHE_TEXT_MAX = 10_000
#: Passes for phone numbers and cards at most (each masks what was found; see ``Redactor.spans``).
RUN_PASSES = 3


@dataclass(frozen=True)
class CustomPattern:
    """A project's own regex; each match becomes ``replacement`` (literal text, no back-references)."""

    pattern: str
    replacement: str = "[redacted]"
    name: str = "custom"


def resolve(spans: Iterable[Span], priority: dict[str, int] | None = None) -> list[Span]:
    """Non-overlapping spans, in text order: the longest wins; a tie goes to the higher priority.

    One pass over all detectors' spans, so "4111 1111 1111 1111" is one card, never a card and a
    phone number cut through its middle.
    """
    rank = priority or {}
    chosen: list[Span] = []  # kept in text order, non-overlapping: a new span meets its neighbours only
    starts: list[int] = []
    for span in sorted(spans, key=lambda s: (-len(s), rank.get(s.kind, len(rank)), s.start)):
        if not len(span):
            continue
        at = bisect_left(starts, span.start)
        if at > 0 and chosen[at - 1].end > span.start:
            continue
        if at < len(chosen) and chosen[at].start < span.end:
            continue
        chosen.insert(at, span)
        starts.insert(at, span.start)
    return chosen


class Redactor:
    """Finds private spans in text and replaces them (``[email]``, ``[card]``, …)."""

    def __init__(
        self,
        detectors: Sequence[str] = (),
        regions: Sequence[str] = ("US",),
        custom: Sequence[CustomPattern] = (),
        *,
        cache: bool = True,
    ) -> None:
        unknown = [d for d in detectors if d not in DETECTORS]
        if unknown:
            raise ValueError(
                f"unknown detector(s) {', '.join(unknown)}; the detectors are {', '.join(DETECTORS)}"
            )
        # Run in DETECTORS' order whatever the configuration's, so ties are decided the same way.
        self.detectors = [d for d in DETECTORS if d in detectors]
        self.regions = tuple(r.upper() for r in regions)
        self.custom = [(re.compile(c.pattern), c) for c in custom]
        self.priority = {name: i for i, name in enumerate([*self.detectors, *(c.name for c in custom)])}
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._redact) if cache else self._redact

    @property
    def active(self) -> bool:
        return bool(self.detectors or self.custom)

    def spans(self, text: str) -> list[Span]:
        """The spans to replace, non-overlapping, in text order.

        First every detector but phone, and the custom patterns, resolved; then, in the text with
        those masked out, phone numbers and cards again, until no new one turns up: masking splits
        a run like "+44 20 7946 0958 4111 1111 1111 1111" into parts phonenumbers (and the card
        detector's grouping) can read, and redacting twice finds nothing more (idempotence).
        """
        found: list[Span] = []
        for name in self.detectors:
            if name != "phone":
                found.extend(DETECTORS[name](text, self.regions))
        for compiled, custom in self.custom:
            found.extend(
                Span(m.start(), m.end(), custom.name, custom.replacement) for m in compiled.finditer(text)
            )
        chosen = resolve(found, self.priority)
        again = [name for name in ("phone", "card") if name in self.detectors]
        for _ in range(RUN_PASSES if again else 0):
            masked = mask(text, chosen)
            new = [s for name in again for s in DETECTORS[name](masked, self.regions)]
            if not new:
                break
            chosen = resolve([*chosen, *new], self.priority)
        return chosen

    def redact(self, text: str) -> str:
        """``text`` with every span replaced; the same text (a card refreshed on every click) is
        redacted once, then read from a small cache (``CACHE_SIZE`` texts up to ``CACHE_TEXT_MAX``)."""
        if not self.active or not text:
            return text
        return self._cached(text) if len(text) <= CACHE_TEXT_MAX else self._redact(text)

    def _redact(self, text: str) -> str:
        out: list[str] = []
        at = 0
        for span in self.spans(text):
            out.append(text[at : span.start])
            out.append(span.replacement)
            at = span.end
        out.append(text[at:])
        return "".join(out)


def mask(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each span's characters replaced by ``|`` (same length: offsets stay valid)."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = MASK * len(span)
    return "".join(chars)


MASK = "|"  # neither a digit, a letter nor a separator phone numbers are written with


@lru_cache(maxsize=64)
def redactor(
    detectors: tuple[str, ...], regions: tuple[str, ...], custom: tuple[CustomPattern, ...]
) -> Redactor:
    """One ``Redactor`` per configuration, built once (patterns compiled once)."""
    return Redactor(detectors, regions, custom)
