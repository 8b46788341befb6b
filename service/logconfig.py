"""structlog setup: JSON lines off a terminal, the console renderer on one.

Nothing here logs names, tokens or secrets; the processors also drop any key that looks like one,
and scrub token-shaped text out of every value, as a second line of defence. The stdlib loggers
(aiohttp, python-engineio, asyncio) go through the same processors and renderer, so the log is one
stream of JSON lines. aiohttp's HTTP parser quotes the raw request in its exceptions (a join token
in the URL, an API key in a header line), and `aiohttp.server` logs them with their traceback:
those records keep only the exception's class and status (`http_request_rejected`).

Participant ids (vendors choose them; some choose e-mail addresses) are logged as their
pseudonyms (`service/pseudonyms.py`), the same the audit trail holds: one processor replaces the
value of every field named in `PARTICIPANT_FIELDS`, so no call site has to remember to.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog
from aiohttp.http_exceptions import HttpProcessingError

from .pseudonyms import Pseudonyms

_FORBIDDEN_KEYS = frozenset(
    {"token", "api_key", "authorization", "display_name", "secret", "password", "body", "payload"}
)

# Fields whose value is a participant id (or a list of them), as the service's log lines name
# them. `session_id` is kept as it is: it is the service's own random id, and a pseudonym's input.
PARTICIPANT_FIELDS = frozenset({"participant_id", "participant", "actor", "client_id", "sender"})
# Actors that are not participants, kept readable.
_NOT_PARTICIPANTS = frozenset({"system", "operator", "anonymous"})

# Token-shaped text, whatever key it sits under: a JWT (join tokens), a credential in a query
# string, an Authorization header's value. Quoted by repr() it may end in a backslash escape.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_CREDENTIAL_PARAM = re.compile(
    r"(?i)\b((?:access_)?token|api_?key|key|secret|password|signature|sig)=[^&\s'\"\\]+"
)
_AUTHORIZATION = re.compile(
    r"(?i)\b(authorization\s*[:=]\s*(?:(?:bearer|basic|token)\s+)?|bearer\s+)[^\s'\"\\,;]+"
)

# Attributes set on a stdlib record by `_HttpParserErrors`, shown as keys of the log line.
_RECORD_EXTRAS = ("error", "status")
_HANDLER_MARK = "_comfort_handler"


def _drop_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _FORBIDDEN_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


class PseudonymiseParticipants:
    """A processor: the value of each field in `PARTICIPANT_FIELDS` becomes its pseudonym in
    the line's session (`session_id`, bound or given), a list of ids each id's.

    Without the deployment's secret (a command that has none to hand) the key is random per
    process: ids are still unreadable, only not comparable with the audit trail.
    """

    def __init__(self, pseudonyms: Pseudonyms | None = None) -> None:
        self.pseudonyms = pseudonyms or Pseudonyms(secrets.token_urlsafe(32))

    def __call__(
        self, _: Any, __: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        session = event_dict.get("session_id")
        session_id = session if isinstance(session, str) else None
        for key in PARTICIPANT_FIELDS.intersection(event_dict):
            event_dict[key] = self._replace(session_id, event_dict[key])
        return event_dict

    def _replace(self, session_id: str | None, value: Any) -> Any:
        if isinstance(value, str):
            if value in _NOT_PARTICIPANTS:
                return value
            return self.pseudonyms.pseudonym(session_id, value)
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self._replace(session_id, item) for item in value]
        return value  # a count, None: not an id


def scrub_text(text: str) -> str:
    """`text` with anything shaped like a join token, an API key in a query string or an
    Authorization value replaced by `[redacted]`."""
    text = _JWT.sub("[redacted]", text)
    text = _CREDENTIAL_PARAM.sub(r"\1=[redacted]", text)
    return _AUTHORIZATION.sub(lambda m: m.group(1) + "[redacted]", text)


def _scrub_values(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Runs after exceptions are rendered, so a traceback's text is scrubbed too."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = scrub_text(value)
    return event_dict


class _HttpParserErrors(logging.Filter):
    """A request aiohttp could not parse is logged by its class and status only.

    The parser's exceptions quote the offending bytes (`LineTooLong` the first 100 bytes of the
    line, `InvalidURLError` and `BadHttpMessage` the request line or header line around the bad
    byte, both in the C and the pure-Python parser of aiohttp 3.x), and `aiohttp.server` logs
    them with `logger.exception` from `RequestHandler.handle_error`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            # The client's mistake, not the service's: a warning, whatever aiohttp chose.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "http_request_rejected", ()
            record.exc_info, record.exc_text = None, None
            record.error = type(exc).__name__
            record.status = exc.code
        return True


def shared_processors(participants: PseudonymiseParticipants | None = None) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
        participants or PseudonymiseParticipants(),
    ]


def _json_line(event: dict[str, Any], **_: Any) -> str:
    return orjson.dumps(event, default=repr).decode()


def configure_logging(
    fmt: str = "auto", level: str = "info", pseudonyms: Pseudonyms | None = None
) -> None:
    """Configure structlog, and route the stdlib root logger (aiohttp, python-engineio) through
    the same processors to standard error.

    Args:
        pseudonyms: the deployment's (`Pseudonyms(settings.resolved_secret_key())`), so the
            logs name participants as the audit trail does; a random key when None.
    """
    participants = PseudonymiseParticipants(pseudonyms)
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(serializer=_json_line)
    )
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[
            *shared_processors(participants),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _scrub_values,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_HttpParserErrors())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared_processors(participants),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(allow=_RECORD_EXTRAS),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _scrub_values,
                renderer,
            ],
        )
    )
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))
    # The access log would print query strings, which for /embed pages hold join tokens.
    logging.getLogger("aiohttp.access").setLevel(logging.CRITICAL)
