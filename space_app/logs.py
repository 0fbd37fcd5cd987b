"""The log tail the Space shows: a bounded ring of formatted records, redacted when they are written."""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading

from space_app.redact import Redactor
from sync.core.clock import SHANGHAI

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TailHandler(logging.Handler):
    """Keeps the newest `capacity` lines; memory stays flat however long the Space runs."""

    def __init__(self, redactor: Redactor, capacity: int = 500):
        super().__init__(logging.INFO)
        self.redactor = redactor
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self.guard = threading.Lock()
        formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
        formatter.converter = lambda seconds: dt.datetime.fromtimestamp(
            seconds, SHANGHAI
        ).timetuple()  # Shanghai, like the rest of the page
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.redactor.text(self.format(record))
        except Exception:  # a broken record must not break a run; logging reports it
            self.handleError(record)
            return
        with self.guard:
            self.lines.append(line)

    def tail(self, n: int = 200) -> str:
        with self.guard:
            return "\n".join(list(self.lines)[-n:])


def attach(handler: TailHandler) -> None:
    """Feed `handler` from the sync's and the app's loggers, and keep chatty HTTP libraries quiet."""
    for name in ("sync", "space_app"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if handler not in logger.handlers:
            logger.addHandler(handler)
    for noisy in ("httpx", "httpx2", "huggingface_hub", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
