"""Redaction of private data before any text reaches Slack (pure Python, no Slack).

``Redactor`` finds spans with the built-in detectors (``bot.privacy.detectors``) and
custom regular expressions, resolves overlaps once (longest first) and replaces each
span. The database and plain exports keep the original text: redaction is applied
where text is shown (``bot.cards.card_for`` and the builders that take raw item text).
"""

from bot.privacy.detectors import DETECTORS, Span
from bot.privacy.redactor import CustomPattern, Redactor, redactor

__all__ = ["DETECTORS", "CustomPattern", "Redactor", "Span", "redactor"]
