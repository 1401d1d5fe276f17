"""Operating `routecore serve`: access log, log set-up, start-up and reload lines, upstream checks.

The proxy engine calls observers once per finished request with an *exchange* (any object with
``time client method target version host status route rule backend bytes_received bytes_sent
upstream_seconds duration error``) and ``on_reload(ok, generation, error)`` after each reload
attempt; ``AccessLog`` and ``log_reload`` are such observers. Metrics and the admin listener are
in ``_admin`` (they need the ``serve`` extra); this module needs nothing outside the stdlib.

Invariants:
- one exchange gives exactly one access-log record, and that record is one line of printable
  ASCII: whatever a client sends (target, Host, method) or an error message carries cannot
  start a new line or fake a field. Text form: every character outside printable ASCII is
  escaped (``\\xHH`` up to U+00FF, ``\\uHHHH``/``\\UHHHHHHHH`` beyond), and so are ``"`` and
  ``\\``; every field but ``error="..."`` escapes the space too (``\\x20``: the method and the
  target are words of the quoted request line). JSON form: ``json.dumps`` with ASCII only;
- the text access-log line format is pinned (``routecore diff`` reads it); add fields only at the
  end;
- every timestamp we write is UTC, RFC 3339 with milliseconds: ``2026-11-30T14:50:00.123Z``;
- while the logging configuration is the one ``configure_logging`` made (the access logger's
  INFO records reach exactly one handler, ours, unchanged), an access line made on a running
  event loop skips the record and goes to that handler's batch: the batch is written with one
  write in the loop's next iteration, before any other record the handler emits, and when the
  handler is flushed (``flush_logs``, ``logging.shutdown`` at exit). Each line is then exactly
  what the standard path writes; any other configuration takes the standard path.
"""
from __future__ import annotations

import asyncio
import difflib
import io
import json
import logging
import os
import re
import sys
import threading
import time
from typing import List, Mapping, Optional, Sequence

ACCESS_LOGGER = "routecore.access"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
FORMATS = ("text", "json")

# --- escaping ------------------------------------------------------------------------------------

_UNSAFE_QUOTED = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')  # all but printable ASCII, " and \
_UNSAFE_BARE = re.compile(r'[^\x21\x23-\x5b\x5d-\x7e]')  # the same, and the space


def _escape_char(m) -> str:
    c = m.group()
    if c in '"\\':
        return "\\" + c
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def quoted(text: str) -> str:
    """``text`` made safe to print between double quotes on one log line."""
    return _UNSAFE_QUOTED.sub(_escape_char, text)


def token(text: str) -> str:
    """``text`` made safe as one space-free word of a log line."""
    if (text.isascii() and text.isprintable() and " " not in text and '"' not in text
            and "\\" not in text):  # (the usual case, in a fraction of the regex's time)
        return text
    return _UNSAFE_BARE.sub(_escape_char, text)


_WORDS: dict = {}  # token() of the texts that repeat from line to line (methods, hosts, routes)


def _word(text: str) -> str:
    got = _WORDS.get(text)
    if got is None:
        got = token(text)
        if len(_WORDS) >= 4096:
            _WORDS.clear()
        _WORDS[text] = got
    return got


def bare(value) -> str:
    """``value`` made safe as an unquoted field (``token``); ``-`` for None or empty."""
    if value is None or value == "":
        return "-"
    return _word(value) if value.__class__ is str else token(str(value))


_WHERE: dict = {}  # (host, route, rule, backend) -> their fields: the same for many requests


def _where(host, route, rule, backend) -> str:
    key = (host, route, rule.__class__, rule, backend)
    got = _WHERE.get(key)
    if got is None:
        got = f"host={bare(host)} route={bare(route)} rule={bare(rule)} backend={bare(backend)}"
        if len(_WHERE) >= 4096:
            _WHERE.clear()
        _WHERE[key] = got
    return got


_SECOND = [None, ""]  # the last second formatted, and its text (one per second, not per record)
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))  # each millisecond's tail of a timestamp


def utc_timestamp(t: float) -> str:
    """RFC 3339, UTC, milliseconds: ``2026-11-30T14:50:00.123Z``."""
    second, ms = divmod(int(t * 1000), 1000)
    last = _SECOND
    if last[0] != second:
        last[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        last[0] = second
    return last[1] + _MILLIS[ms]


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds * 1000.0, 3)


# --- access log ----------------------------------------------------------------------------------


class AccessLog:
    """An observer writing one access-log record per exchange to ``logger`` at INFO.

    ``fmt="text"`` (the timestamp, level and logger name come from the logging formatter)::

        <client> "<METHOD> <target> HTTP/<version>" <status> host=<host|-> route=<ns/name|->
        rule=<n|-> backend=<ns/name:port|-> bytes=<bytes_sent> upstream_ms=<x.x|-> duration_ms=<x.x>
        [error="<error>"]

    (one line). ``fmt="json"``: one JSON object per line, see ``json_record``.

    A TCP, TLS or UDP connection (a ``stream.Connection``: it has a ``channel``) gets a line of
    its own shape, which ``routecore diff`` does not take for a request::

        <client> "<CHANNEL> port=<gateway port> sni=<sni|->" <status> listener=<name|->
        route=<ns/name|-> backend=<ns/name:port|-> bytes_in=<n> bytes_out=<n>
        upstream_ms=<connect time|-> duration_ms=<x.x> [error="<error>"]

    (``stream_line``/``stream_record``).
    """

    def __init__(self, fmt: str = "text", logger: logging.Logger = logging.getLogger(ACCESS_LOGGER)):
        if fmt not in FORMATS:
            raise ValueError(f"access log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.fmt = fmt
        self.logger = logger
        self._format = self.text_line if fmt == "text" else self.json_line
        self._template: Optional[logging.LogRecord] = None

    def __call__(self, exchange) -> None:
        logger = self.logger
        if logger.isEnabledFor(logging.INFO):
            if getattr(exchange, "channel", None) is not None:
                line = self.stream_line(exchange) if self.fmt == "text" else json.dumps(
                    self.stream_record(exchange), ensure_ascii=True, separators=(",", ":"))
            else:
                line = self._format(exchange)
            handler = _direct_handler(logger)
            if handler is None or not handler.write_soon(logger.name, line):
                logger.handle(self._record(line))

    def _record(self, line: str) -> logging.LogRecord:
        """The INFO record of ``line``, as ``Logger.makeRecord`` makes it, but without its cost
        per request: Logger.info would walk the stack to name its caller (which tells nothing
        here), and LogRecord() looks up the thread, process and their names each time. A record
        made the standard way is the template; the fields that change are set on a copy. The
        standard way whenever that template cannot be trusted: another thread or process, a
        custom record factory or Logger class, or a Python whose records carry more (3.12's
        taskName)."""
        logger = self.logger
        template = self._template
        if (template is None or template.thread != threading.get_ident()
                or template.process != os.getpid() or template.name != logger.name
                or logging.getLogRecordFactory() is not logging.LogRecord
                or type(logger).makeRecord is not logging.Logger.makeRecord):
            record = logger.makeRecord(logger.name, logging.INFO, "", 0, line, None, None)
            if type(record) is logging.LogRecord and not hasattr(record, "taskName"):
                self._template = _copy_record(record)
            return record
        record = _copy_record(template)
        created = time.time()
        record.msg = line
        record.created = created
        record.msecs = int((created - int(created)) * 1000) + 0.0
        record.relativeCreated = template.relativeCreated + (created - template.created) * 1000
        return record

    @staticmethod
    def stream_line(x) -> str:
        return _timed(x, f'{bare(x.client)} "{token(x.channel.upper())} port={int(x.port)} '
                         f'sni={bare(x.sni)}" {int(x.status)} listener={bare(x.listener)} '
                         f"route={bare(x.route)} backend={bare(x.backend)} "
                         f"bytes_in={int(x.bytes_received)} bytes_out={int(x.bytes_sent)}")

    @staticmethod
    def stream_record(x) -> dict:
        return {"time": utc_timestamp(x.time), "client": x.client, "channel": x.channel,
                "port": int(x.port), "sni": x.sni, "status": int(x.status),
                "listener": x.listener, "route": x.route, "backend": x.backend,
                "bytes_received": int(x.bytes_received), "bytes_sent": int(x.bytes_sent),
                "upstream_ms": _ms(x.upstream_seconds), "duration_ms": _ms(x.duration),
                "error": x.error}

    @staticmethod
    def text_line(x) -> str:
        words = _WORDS  # (bare() and _word() of a word seen before, without their calls)
        return _timed(x, f'{words.get(x.client) or bare(x.client)} '
                         f'"{words.get(x.method) or _word(x.method)} {token(x.target)} '
                         f'HTTP/{words.get(x.version) or _word(x.version)}" {int(x.status)} '
                         f"{_where(x.host, x.route, x.rule, x.backend)} "
                         f"bytes={int(x.bytes_sent)}")

    @staticmethod
    def json_record(x) -> dict:
        return {"time": utc_timestamp(x.time), "client": x.client, "method": x.method,
                "target": x.target, "protocol": f"HTTP/{x.version}", "status": int(x.status),
                "host": x.host, "route": x.route, "rule": x.rule, "backend": x.backend,
                "bytes_received": int(x.bytes_received), "bytes_sent": int(x.bytes_sent),
                "upstream_ms": _ms(x.upstream_seconds), "duration_ms": _ms(x.duration),
                "error": x.error}

    @classmethod
    def json_line(cls, x) -> str:
        return json.dumps(cls.json_record(x), ensure_ascii=True, separators=(",", ":"))


def _copy_record(record: logging.LogRecord) -> logging.LogRecord:
    out = logging.LogRecord.__new__(logging.LogRecord)
    out.__dict__.update(record.__dict__)
    return out


def _timed(x, head: str) -> str:
    """``head`` + `` upstream_ms=<x.x|-> duration_ms=<x.x>[ error="..."]``."""
    upstream = "-" if x.upstream_seconds is None else f"{x.upstream_seconds * 1000.0:.1f}"
    line = f"{head} upstream_ms={upstream} duration_ms={x.duration * 1000.0:.1f}"
    if x.error is not None:
        line += f' error="{quoted(x.error)}"'
    return line


# --- logging set-up ------------------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    """``2026-11-30T14:50:00.123Z INFO routecore.serve message``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return utc_timestamp(record.created)

    def format(self, record) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        # what logging.Formatter.format gives for this format, without its generic steps
        record.message = record.getMessage()
        record.asctime = utc_timestamp(record.created)
        return f"{record.asctime} {record.levelname} {record.name} {record.message}"


def parse_level(level: str) -> int:
    """The logging level for a ``--log-level`` name (any case; ``warn`` is ``warning``)."""
    name = str(level).strip().lower()
    name = "warning" if name == "warn" else name
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: choose one of {', '.join(LEVELS)}")
    return LEVELS[name]


def configure_logging(level: str = "info", fmt: str = "text", *, stream=None) -> None:
    """Send every log record to ``stream`` (default stderr) as ``<UTC time> <LEVEL> <logger>
    <message>``, at ``level`` and above. With ``fmt="json"`` the access logger's records are
    written bare (the JSON object alone on its line, no prefix) while the other loggers keep the
    text form, so ``grep '^{'`` selects the access log. Calling it again replaces what an earlier
    call installed (and nothing else: handlers others added stay)."""
    numeric = parse_level(level)
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    stream = sys.stderr if stream is None else stream
    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    for logger in (root, access):
        for h in [h for h in logger.handlers if h.__class__ is _LineHandler]:
            h.write_batch()  # the access lines it holds
            logger.removeHandler(h)
    root.addHandler(_LineHandler(stream, TextFormatter()))
    root.setLevel(numeric)
    if fmt == "json":
        access.addHandler(_LineHandler(stream, logging.Formatter("%(message)s")))
        access.propagate = False
    else:
        access.propagate = True
    # one access record per request is ours; the HTTP client's per-request lines only at debug
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)


class _LineHandler(logging.StreamHandler):
    """The StreamHandler ``configure_logging`` installs. It does not flush a stream whose writes
    already reach its file: each record is one write ending in a newline, and a line-buffered
    text stream, or one written through to an unbuffered file (stderr when it is not a
    terminal), writes it out itself. It also takes access lines in batches (``write_soon``)."""

    def __init__(self, stream, formatter):
        super().__init__(stream)
        self.setFormatter(formatter)
        self._own_formatter = formatter
        self._prefixed = isinstance(formatter, TextFormatter)
        self._batch: List[str] = []  # access lines not written yet, each ending in a newline
        self._batch_loop = None  # the loop whose next iteration writes the batch
        self._raw = (None, False)  # (a stream, whether its buffer is a raw file)

    def write_soon(self, name: str, line: str) -> bool:
        """Add the INFO line ``line`` of logger ``name``, formatted as this handler's formatter
        would, to the batch written in the running loop's next iteration; False (nothing done)
        when no loop runs in this thread: the caller takes the standard path."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        text = (f"{utc_timestamp(time.time())} INFO {name} {line}{self.terminator}"
                if self._prefixed else f"{line}{self.terminator}")
        with self.lock:
            if self._batch_loop is not loop:
                if self._batch:  # scheduled on a loop that stopped before writing it
                    self._write_batch()
                loop.call_soon(self.write_batch)
                self._batch_loop = loop
            self._batch.append(text)
        return True

    def write_batch(self) -> None:
        """Write the access lines not written yet (a failing write is reported, not raised)."""
        with self.lock:
            self._write_batch()

    def _write_batch(self) -> None:
        """Write the batch in one write (the caller holds the lock)."""
        batch, self._batch, self._batch_loop = self._batch, [], None
        if batch:
            try:
                self.stream.write("".join(batch))
                self._flush_stream()
            except Exception:  # as Handler.emit does: reported on stderr, never raised
                self.handleError(logging.makeLogRecord({"msg": batch[0].rstrip("\n")}))

    def emit(self, record) -> None:
        with self.lock:  # the lines before this record go first
            self._write_batch()
        super().emit(record)

    def flush(self) -> None:
        with self.lock:
            self._write_batch()
            self._flush_stream()

    def _flush_stream(self) -> None:
        stream = self.stream
        known, raw = self._raw
        if stream is not known:  # (once per stream: isinstance of an ABC is slow)
            raw = isinstance(getattr(stream, "buffer", None), io.RawIOBase)
            self._raw = (stream, raw)
        if not (getattr(stream, "line_buffering", False)
                or (raw and getattr(stream, "write_through", False))):
            if stream and hasattr(stream, "flush"):
                stream.flush()


def _direct_handler(logger: logging.Logger) -> Optional[_LineHandler]:
    """The handler ``configure_logging`` installed when it is the only one ``logger``'s INFO
    records reach and it would write them unchanged (its own formatter, no filter anywhere, no
    custom Logger class or record factory); else None."""
    if (logger.filters or type(logger) is not logging.Logger
            or logging.getLogRecordFactory() is not logging.LogRecord):
        return None
    found = None
    c = logger
    while c is not None:
        for h in c.handlers:
            if found is not None or h.__class__ is not _LineHandler:
                return None
            found = h
        if not c.propagate:
            break
        c = c.parent
    if (found is None or found.filters or found.level > logging.INFO
            or found.formatter is not found._own_formatter):
        return None
    return found


def flush_logs() -> None:
    """Write every line ``configure_logging``'s handlers still hold (call before a loop closes)."""
    for logger in (logging.getLogger(), logging.getLogger(ACCESS_LOGGER)):
        for h in list(logger.handlers):
            if h.__class__ is _LineHandler:
                try:
                    h.flush()
                except (OSError, ValueError):  # a closed stream: as logging.shutdown does
                    pass


# --- start-up and reload lines -------------------------------------------------------------------


def startup_line(*, version: str, native: bool, listeners: Sequence[str],
                 upstreams: Mapping[str, str], generation: int, source: str) -> str:
    """The INFO line logged once the proxy is about to serve, e.g. ``routecore 0.9.0 serving:
    core=native listen=127.0.0.1:8080 config=edge.yaml generation=0
    upstreams=store/api:8080=http://127.0.0.1:9001,...`` (upstreams sorted by key)."""
    ups = ",".join(f"{bare(k)}={bare(upstreams[k])}" for k in sorted(upstreams)) or "-"
    return (f"routecore {bare(version)} serving: core={'native' if native else 'pure'} "
            f"listen={','.join(bare(l) for l in listeners) or '-'} config={bare(source)} "
            f"generation={int(generation)} upstreams={ups}")


def reload_line(ok: bool, generation: int, error: Optional[str]) -> str:
    """``configuration reloaded: generation=N``, or ``configuration refused, still serving
    generation=N: <error>`` where each further line of the error (a ConfigError has one issue
    per line) is indented by two spaces, each line escaped as the access log's quoted fields.
    ``generation`` is the one serving after the attempt."""
    if ok:
        return f"configuration reloaded: generation={int(generation)}"
    lines = [quoted(line) for line in (error or "unknown error").splitlines()] or ["-"]
    return (f"configuration refused, still serving generation={int(generation)}: "
            + "\n  ".join(lines))


def log_reload(ok: bool, generation: int, error: Optional[str],
               logger: logging.Logger = logging.getLogger("routecore.serve")) -> None:
    """An ``on_reload`` observer: the reload line at INFO, a refused configuration at ERROR."""
    logger.log(logging.INFO if ok else logging.ERROR, "%s", reload_line(ok, generation, error))


# --- upstream checks -----------------------------------------------------------------------------


def view_backends(view):
    """(backends, mirrors): the "ns/name:port" of every backend the view (or list of views) can
    forward to, and of every mirror it can copy to, read from the view's compiled ``spec`` (a
    TableSpec, on both twins): every Choice a table can return is in ``spec.choices`` (invalid
    backendRefs, weight 0 and routes not attached to the view are not there)."""
    backends, mirrors = set(), set()
    for one in view if isinstance(view, list) else (view,):
        for choice in one.spec.choices:
            if choice.backend is not None:
                backends.add(str(choice.backend))
            mirrors.update(str(m.backend) for m in choice.mirrors)
    return backends, mirrors


def upstream_warnings(router, select, upstreams: Mapping[str, str]) -> List[str]:
    """Problems between ``--upstream`` keys and the view(s) ``select(router)`` serves, one sentence
    each: a key no rule or mirror references (naming the nearest backend the view does
    reference), a backend with no upstream (its requests get 502), a mirror with no upstream
    (its copies are dropped)."""
    backends, mirrors = view_backends(select(router))
    referenced = backends | mirrors
    out = []
    for key in sorted(set(upstreams) - referenced):
        near = difflib.get_close_matches(key, sorted(referenced), n=1, cutoff=0.0)
        hint = f"; nearest backend: {near[0]}" if near else "; the view references no backend"
        out.append(f"--upstream {key}: no rule or mirror of the served view references it{hint}")
    for key in sorted(backends - set(upstreams)):
        out.append(f"backend {key} has no --upstream: requests routed to it get 502")
    for key in sorted(mirrors - backends - set(upstreams)):
        out.append(f"mirror backend {key} has no --upstream: its mirrored requests are dropped")
    return out
