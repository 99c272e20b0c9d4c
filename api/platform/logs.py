"""Structured JSON log lines with the request id; never bodies, query values or personal data."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Only these `extra` keys reach a log line: an allow-list, so a careless
# `log.info(..., extra={"surname": ...})` cannot leak personal data.
ALLOWED_FIELDS = frozenset(
    {
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "query_keys",
        "principal",
        "principal_type",
        "tenant",
        "error_class",
        "client_ip",
        "bytes_in",
        "revision",
        "count",
        "event",
        "registration_id",
        "outcome",
        "http_status",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key in ALLOWED_FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            # The exception class only: messages and tracebacks can carry row values.
            line["exc_class"] = record.exc_info[0].__name__
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log prints query strings; ours replaces it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Outgoing-HTTP libraries log full URLs at INFO; URLs can carry identifiers.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
