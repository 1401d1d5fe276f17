"""The access log's batched path (ops._LineHandler.write_soon): while the logging configuration is
the one configure_logging made, access lines made on a running loop are written once per loop
iteration, exactly as the standard path writes them, in order with the other records, and none
is lost when the loop stops; any other configuration takes the standard path. End to end: every
request a SIGTERM-drained `routecore serve` answered has its line."""
import asyncio
import io
import logging
import threading
import time

import httpx
import pytest

from routecore._serve.ops import AccessLog, _LineHandler, configure_logging, flush_logs

from test_ops import exchange
from test_proxy_rig import Recorder, Serve, ok, write_config


class Writes(io.StringIO):
    """A text stream that keeps each write it is given."""

    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, text):
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def restore_logging():
    root, access = logging.getLogger(), logging.getLogger("routecore.access")
    saved = (root.level, list(root.handlers), access.propagate, list(access.handlers),
             access.level, logging.getLogRecordFactory())
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    access.propagate = saved[2]
    access.handlers[:] = saved[3]
    access.setLevel(saved[4])
    logging.setLogRecordFactory(saved[5])


def configure(level, fmt, stream):
    """configure_logging, and nothing else on the root logger (pytest adds its capture handler:
    another configuration)."""
    configure_logging(level, fmt, stream=stream)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.__class__ is _LineHandler]


def on_a_loop(*steps):
    """Run each step (a callable) in its own iteration of a new loop, and the loop's next
    iteration after each."""

    async def main():
        for step in steps:
            step()
            await asyncio.sleep(0)  # the iteration that writes the batch

    asyncio.run(main())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_one_write_per_loop_iteration_with_the_standard_lines(restore_logging, monkeypatch, fmt):
    monkeypatch.setattr(time, "time", lambda: 1796050200.1234)
    standard = Writes()
    configure("info", fmt, standard)
    access = AccessLog(fmt)
    targets = [f"/{n}" for n in range(16)]
    for t in targets:  # no loop runs: the standard path, one write per line
        access(exchange(target=t))
    assert len(standard.writes) == 16

    out = Writes()
    configure("info", fmt, out)
    after = []

    def batch():
        for t in targets:
            access(exchange(target=t))
        after.append(len(out.writes))  # nothing yet: the batch is written in the next iteration

    on_a_loop(batch, batch)
    assert after == [0, 1]
    assert len(out.writes) == 2 and out.writes[0] == out.writes[1]
    assert out.writes[0] == standard.getvalue()


def test_other_records_keep_their_order_with_the_batch(restore_logging):
    out = io.StringIO()
    configure("info", "text", out)
    serve = logging.getLogger("routecore.serve")
    on_a_loop(lambda: (AccessLog()(exchange(target="/1")), serve.warning("between"),
                       AccessLog()(exchange(target="/2"))))
    lines = out.getvalue().splitlines()
    assert [l.split(" ")[2:4] for l in lines] == [
        ["routecore.access", "10.1.2.3"], ["routecore.serve", "between"],
        ["routecore.access", "10.1.2.3"]]
    assert ' "GET /1 ' in lines[0] and ' "GET /2 ' in lines[2]


def test_a_loop_stopped_before_writing_loses_nothing(restore_logging):
    """serve() calls flush_logs() before closing its loop; a line made on a later loop writes
    what an earlier loop left first."""
    out = io.StringIO()
    configure("info", "text", out)
    for last in ("flush_logs", "next-loop"):
        loop = asyncio.new_event_loop()

        def line_then_stop(target):
            AccessLog()(exchange(target=target))
            loop.stop()  # the loop ends with this iteration: the batch's write never runs

        loop.call_soon(line_then_stop, f"/stopped-{last}")
        loop.run_forever()
        loop.close()
        assert f"/stopped-{last} " not in out.getvalue()
        if last == "flush_logs":
            flush_logs()
        else:
            on_a_loop(lambda: AccessLog()(exchange(target="/later")))
        assert f"/stopped-{last} " in out.getvalue()
    assert out.getvalue().index("/stopped-next-loop ") < out.getvalue().index("/later ")


class Keep(logging.Handler):
    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def emit(self, record):
        self.seen.append(record.getMessage())


def _ours():
    return logging.getLogger().handlers[-1]


def _record_factory(seen):
    factory = logging.getLogRecordFactory()

    def make(*args, **kw):
        record = factory(*args, **kw)
        seen.append(record.getMessage())
        return record
    logging.setLogRecordFactory(make)


CHANGES = {  # name: (change(seen), what our stream gets: "line", "nothing" or "custom")
    "handler on root": (lambda seen: logging.getLogger().addHandler(Keep(seen)), "line"),
    "handler on the access logger": (
        lambda seen: logging.getLogger("routecore.access").addHandler(Keep(seen)), "line"),
    "filter on ours": (
        lambda seen: _ours().addFilter(lambda r: seen.append(r.getMessage()) and False),
        "nothing"),
    "formatter on ours": (
        lambda seen: _ours().setFormatter(Formatter(seen, "custom %(message)s")), "custom"),
    "record factory": (_record_factory, "line"),
}


class Formatter(logging.Formatter):
    def __init__(self, seen, fmt):
        super().__init__(fmt)
        self.seen = seen

    def format(self, record):
        self.seen.append(record.getMessage())
        return super().format(record)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_any_other_configuration_takes_the_standard_path(restore_logging, name):
    """A handler added (pytest's caplog, a user's), a filter, a formatter or a record factory:
    each sees the access record as logging gives it, and our stream gets what it makes of it."""
    change, expect = CHANGES[name]
    out = io.StringIO()
    configure("info", "text", out)
    seen = []
    change(seen)
    on_a_loop(lambda: AccessLog()(exchange(target="/x")))
    assert seen == [AccessLog.text_line(exchange(target="/x"))]
    if expect == "line":
        assert out.getvalue().endswith(f" INFO routecore.access {seen[0]}\n")
        assert out.getvalue().count("\n") == 1
    elif expect == "custom":
        assert out.getvalue() == f"custom {seen[0]}\n"
    else:
        assert out.getvalue() == ""


def test_a_failing_write_is_reported_and_the_next_batch_written(restore_logging, capsys):
    class Flaky(io.StringIO):
        fail = True

        def write(self, text):
            if self.fail:
                self.fail = False
                raise OSError("disk full")
            return super().write(text)

    out = Flaky()
    configure("info", "text", out)
    on_a_loop(lambda: AccessLog()(exchange(target="/lost")),
              lambda: AccessLog()(exchange(target="/kept")))
    assert "/lost " not in out.getvalue() and "/kept " in out.getvalue()
    assert "disk full" in capsys.readouterr().err  # logging's handleError, as for a record


def test_every_request_of_a_drained_serve_has_its_line(tmp_path):
    """SIGTERM while requests wait on a slow upstream: each of them, and each request before,
    gets its response and its access line (written in the last iterations before the loop
    closes)."""
    arrived = threading.Semaphore(0)

    def slow(msg):
        if msg.target.startswith(b"/slow"):
            arrived.release()
            time.sleep(1.0)
        return ok(msg)

    upstream = Recorder(slow)
    proxy = Serve(write_config(tmp_path), {"shop/v1:80": upstream.url})
    statuses = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=30) as client:
            for n in range(50):
                statuses.append(client.get(f"/fast/{n}", headers={"host": "shop"}).status_code)

        def one(n):
            with httpx.Client(timeout=30) as c:
                statuses.append(c.get(f"http://127.0.0.1:{proxy.port}/slow/{n}",
                                      headers={"host": "shop"}).status_code)

        clients = [threading.Thread(target=one, args=(n,)) for n in range(8)]
        for c in clients:
            c.start()
        assert all(arrived.acquire(timeout=15) for _ in range(8))
    finally:
        out = proxy.stop()  # SIGTERM: the proxy drains the 8 slow requests, then exits
        for c in clients:
            c.join(30)
        upstream.close()
    assert statuses == [200] * 58
    lines = [l for l in out.splitlines() if " INFO routecore.access " in l]
    targets = sorted(l.split('"GET ', 1)[1].split(" ", 1)[0] for l in lines)
    assert targets == sorted([f"/fast/{n}" for n in range(50)] + [f"/slow/{n}" for n in range(8)])
