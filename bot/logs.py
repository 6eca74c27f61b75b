"""Log lines as JSON (``serve --log-format json``): one object a line, for log collectors.

Fields: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and, when the line is about
one, ``item_id``, ``project``, ``user`` and ``event_id`` (passed with ``extra=``); an exception's
traceback as ``exc``. The message is the same text as in the plain format: what never goes into
a line (secrets, request bodies) never goes into its JSON either.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

__all__ = ["FIELDS", "JsonFormatter"]

FIELDS = ("item_id", "project", "user", "event_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
