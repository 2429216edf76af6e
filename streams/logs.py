"""JSON log lines for the stream worker: one object per line, with any ``extra`` fields."""

from __future__ import annotations

import json
import logging
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"ts", "level", "logger", "msg", ...extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            # which worker said it, when several run side by side (yibao stream --processes N)
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def logging_config(level: int | str = logging.INFO) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: JSON lines on stderr for every logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "streams.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # client libraries log every connection at INFO: keep their warnings only
        "loggers": {
            name: {"level": "WARNING"} for name in ("kafka", "aiokafka", "mode.timers", "alembic")
        },
    }


class ReconnectLogFilter(logging.Filter):
    """Lets through one line per reconnect back-off step while the Kafka clients cannot connect.

    During a broker outage aiokafka retries every 100 ms and logs every failure
    from several places (connection, metadata, fetcher, coordinator): about 160
    lines a second. Each failed connection counts as a reconnect attempt; the
    first record of an outage passes, then one record after 1, 2, 4 ... up to
    ``max_interval`` seconds, annotated with the attempt number, how long the
    connection has been failing and how many lines were left out. After
    ``quiet`` seconds without such records the next one starts a new outage.
    Records of other loggers pass unchanged. Thread-safe (Faust's own consumer
    logs from its thread).
    """

    #: loggers whose warnings and errors are rate-limited
    prefixes = ("aiokafka", "kafka")
    #: substrings of a record that is one failed connection (one attempt)
    attempt_marks = ("Unable connect to node", "Connect call failed")

    def __init__(self, max_interval: float = 30.0, quiet: float = 10.0) -> None:
        super().__init__()
        import threading

        self.max_interval = max_interval
        self.quiet = quiet
        self._lock = threading.Lock()
        self._since = 0.0  # start of the current outage (monotonic), 0 when none
        self._last = 0.0  # last client error record seen
        self._next = 0.0  # next time a record may pass
        self._interval = 1.0
        self.attempts = 0
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        import time

        now = time.monotonic()
        message = record.getMessage()
        with self._lock:
            if not self._since or now - self._last > self.quiet:
                self._since, self._next, self._interval = now, now, 1.0
                self.attempts, self._suppressed = 0, 0
            self._last = now
            if any(mark in message for mark in self.attempt_marks):
                self.attempts += 1
            if now < self._next:
                self._suppressed += 1
                return False
            suppressed, self._suppressed = self._suppressed, 0
            self._next = now + self._interval
            self._interval = min(self._interval * 2, self.max_interval)
            attempts, down = self.attempts, now - self._since
        attempt = f"broker connection attempt {attempts}, " if attempts else ""
        record.msg = (
            f"{message} [{attempt}failing for {down:.0f} s; {suppressed} similar lines left out]"
        )
        record.args = ()
        record.reconnect_attempt = attempts
        record.suppressed_lines = suppressed
        return True


def install_reconnect_filter(logger: logging.Logger) -> ReconnectLogFilter:
    """Attach one shared :class:`ReconnectLogFilter` to every handler of ``logger`` (the root)."""
    flt = ReconnectLogFilter()
    for handler in logger.handlers:
        handler.addFilter(flt)
    return flt
