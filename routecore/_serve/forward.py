"""`routecore serve`, forwarding: a request to its upstream and the response back to the client.

``Forwarding`` is the part of ``proxy.Proxy`` that talks to upstreams; the invariants it keeps
are those of ``proxy``'s module docstring (exact header list plus the route's changes and one
X-Forwarded-For/-Proto/-Host of ours; the same framing; a body reaches the upstream whole or not
at all; buffered only to be replayed, up to ``max_buffered_body``).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time

from .._respond import REASONS, to_bytes
from .upstream import UpstreamError, reset

log = logging.getLogger("routecore.serve")

# RFC 9110 section 7.6.1 (and Proxy-Connection): never forwarded in either direction.
# Transfer-Encoding is hop-by-hop too, but we forward the body with the framing it came with,
# so it is re-stated as received (as is Content-Length).
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"upgrade"})
FRAMING = frozenset({b"content-length", b"transfer-encoding"})
# a client's Connection header cannot nominate these (removing them would change the framing or
# the routing of what the upstream sees)
UNNOMINABLE = FRAMING | {b"host"}
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
                       b"forwarded"})
# a request without any of these goes upstream with its header list as it came (plus ours)
_PLAIN = HOP_BY_HOP | FORWARDED | {b"expect"}


# RFC 9110 9.2.2: a request may be sent again by itself only when its method is idempotent, or
# when the client marked it so (the Idempotency-Key header of the IETF draft, and its X- form).
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
_IDEMPOTENCY_KEYS = (b"idempotency-key", b"x-idempotency-key")


def replayable(req) -> bool:
    """Whether ``req`` may go again on a new connection after a pooled one closed with no byte
    back (the upstream may have read it before closing: only a request that is safe twice)."""
    return req.method in IDEMPOTENT or any(k in req.names for k in _IDEMPOTENCY_KEYS)


_ONE_TOKEN = frozenset({b"keep-alive", b"close"})  # the usual Connection values


def _connection_tokens(headers, names) -> set:
    tokens = set()
    for low, (_, value) in zip(names, headers):
        if low == b"connection":
            value = value.lower()
            if value in _ONE_TOKEN:
                tokens.add(value)
            else:
                tokens.update(t.strip() for t in value.split(b","))
    return tokens


def strip_hop_by_hop(headers, keep_chunked=True, names=None) -> list:
    """``headers`` (bytes pairs) without hop-by-hop headers and those ``Connection`` lists;
    ``names``: their names in lower case, when the caller has them."""
    if names is None:
        names = [n.lower() for n, _ in headers]
    drop = HOP_BY_HOP | (_connection_tokens(headers, names) - UNNOMINABLE)
    if not keep_chunked:
        drop = drop | {b"transfer-encoding"}
    return [pair for low, pair in zip(names, headers) if low not in drop]


def _apply(apply, headers) -> list:
    """A route's header filters applied to bytes pairs; the framing headers stay as they were."""
    before = [p for p in headers if p[0].lower() in FRAMING]
    out = [(to_bytes(n), to_bytes(v)) for n, v in apply(headers)]
    if [p for p in out if p[0].lower() in FRAMING] != before:
        out = [p for p in out if p[0].lower() not in FRAMING] + before
    return out


def head_block(first: bytes, headers) -> bytes:
    parts = [first]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class Forwarding:
    """Forwarding for ``proxy.Proxy`` (its ``loop``, ``settings``, ``router``, ``pool()``,
    ``_backend_tls()``, ``_client_failed()`` and ``_mirror_tasks``)."""

    # --- forwarding ----------------------------------------------------------------------------

    def _upstream_headers(self, conn, req, decision, trusted, pool) -> list:
        """The header list that goes upstream (see the module's invariants)."""
        headers, names = req.headers, req.names
        xff, xfp, xfh, host = [], None, None, None
        if _PLAIN.isdisjoint(names):  # nothing to drop or to read: the list as it came
            out = headers.copy()
            if b"host" in names:
                host = headers[names.index(b"host")][1]
        else:
            out, xfp, xfh, host = self._filtered_headers(headers, names, trusted, xff)
        if decision is not None:
            if decision.changes.request_headers:
                out = _apply(decision.apply_request_headers, out)
            upstream_host = decision.upstream_host
            if upstream_host is not None:
                value = to_bytes(upstream_host)
                if value != host:
                    for i, pair in enumerate(out):
                        if pair[0].lower() == b"host":
                            out[i] = (pair[0], value)
                            break
                    else:
                        out.append((b"host", value))
        if host is None and not any(n.lower() == b"host" for n, _ in out):
            out.append((b"host", pool.authority))  # an HTTP/1.0 client sent none
        peer = to_bytes(conn.peer)
        out.append((b"x-forwarded-for", b", ".join(xff) + b", " + peer if xff else peer))
        out.append((b"x-forwarded-proto", xfp if xfp is not None else
                    b"https" if conn.tls else b"http"))
        if xfh is not None or host is not None:
            out.append((b"x-forwarded-host", xfh if xfh is not None else host))
        return out

    @staticmethod
    def _filtered_headers(headers, names, trusted, xff) -> tuple:
        """The general case of ``_upstream_headers``: (the list without what is dropped,
        X-Forwarded-Proto, X-Forwarded-Host, Host); a trusted peer's X-Forwarded-For values are
        appended to ``xff``."""
        drop = HOP_BY_HOP | (_connection_tokens(headers, names) - UNNOMINABLE)
        xfp, xfh, host = None, None, None
        out = []
        for low, pair in zip(names, headers):
            if low in drop:
                continue
            if low in FORWARDED:
                if trusted:
                    if low == b"x-forwarded-for":
                        xff.append(pair[1])
                    elif low == b"x-forwarded-proto":
                        xfp = pair[1]
                    elif low == b"x-forwarded-host":
                        xfh = pair[1]
                    else:
                        out.append(pair)  # Forwarded from a trusted proxy is kept as it is
                continue
            if low == b"expect" and pair[1].lower() == b"100-continue":
                continue  # answered by the proxy (see README)
            if low == b"host" and host is None:  # (the first, as the copy's; _handle allows one)
                host = pair[1]
            out.append(pair)
        return out, xfp, xfh, host

    async def _forward(self, conn, req, ex, decision, pool, trusted, path, scheme,
                       tls=None) -> bool:
        loop = self.loop
        settings = self.settings
        headers = self._upstream_headers(conn, req, decision, trusted, pool)
        head = head_block(req.method.encode("latin-1") + b" " + path + b" HTTP/1.1\r\n", headers)
        retry = timeouts = None
        mirrors = ()
        if decision is not None:
            retry, timeouts = decision.retry, decision.timeouts
            if decision.mirrors:
                mirrors = [m for m in decision.mirrors
                           if self.pool(str(m.backend)) is not None and random.random() * 100.0 < m.percent]
        attempts = retry.attempts if retry is not None and retry.attempts else 0

        # the body: buffered (complete) when it must be replayed and fits, else streamed
        body = [] if not req.has_body else None
        if req.has_body and (attempts or mirrors):
            cap = settings.max_buffered_body
            if req.length is None or req.length <= cap:
                await req.buffer(cap)
                if req.failed:
                    return self._client_failed(conn, req, ex)
                if req.complete and req.pending_size <= cap:
                    body = req.take()
            if body is None:  # too large to replay: one attempt, no mirror
                attempts, mirrors = 0, ()
        if mirrors:
            upstream_path = to_bytes(decision.upstream_path)
            for m in mirrors:
                self._mirror(self.pool(str(m.backend)), req, headers, body, upstream_path,
                             m.backend)

        total = timeouts.request if timeouts is not None and timeouts.request else None
        per_try = timeouts.backend_request if timeouts is not None and timeouts.backend_request else None
        deadline = None if total is None else loop.time() + total
        head_request = req.method == "HEAD"
        stale_retry = True
        fresh = False
        attempt = 0
        while True:
            try:
                up = (None if fresh else pool.take(tls)) or await pool.acquire(fresh, tls)
            except UpstreamError as exc:
                if attempt < attempts and body is not None:
                    attempt += 1
                    continue
                ex.error = exc.reason
                return self._bad_gateway(conn, req, ex, 504 if "timeout" in exc.reason else 502)
            sent = loop.time()
            sent_clock = time.perf_counter()
            up.start(head, head_request)
            limit = sent + (per_try or settings.upstream_timeout or float("inf"))
            if deadline is not None and deadline < limit:
                limit = deadline
            up.watch(limit, settings.upstream_timeout or float("inf"), deadline)
            if body is None:
                self._stream_body(conn, up, req)
            elif body or req.chunked:  # (a chunked body still ends with its last chunk)
                self._send_body(up, req, body)
            up.on_interim = (lambda status, text, hs: self._interim(conn, req, status, text, hs))
            try:
                response = await up.head
            except UpstreamError as exc:
                if req.failed:
                    return self._client_failed(conn, req, ex)
                if (exc.sent_nothing and up.reused and body is not None and stale_retry
                        and replayable(req)):
                    stale_retry = False  # the pooled connection was closed by the upstream
                    fresh = True
                    continue
                if attempt < attempts and body is not None and (
                        deadline is None or loop.time() < deadline):
                    attempt += 1
                    continue
                ex.error = exc.reason
                return self._bad_gateway(conn, req, ex, 504 if exc.reason == "upstream timeout" else 502)
            if retry is not None and response.status in retry.codes and attempt < attempts:
                up.transport.close()
                attempt += 1
                if retry.backoff:
                    await asyncio.sleep(retry.backoff)
                continue
            break
        ex.upstream_seconds = time.perf_counter() - sent_clock
        return await self._respond(conn, req, ex, decision, pool, up, response,
                                   body is not None or req.complete)

    def _bad_gateway(self, conn, req, ex, status) -> bool:
        if conn.lost:
            return False
        text = "upstream request timeout" if status == 504 else "upstream connection failed"
        conn.write_simple(status, text + "\n", close=not req.complete)
        ex.status, ex.bytes_sent = status, len(text) + 1
        return req.keep_alive and req.complete

    @staticmethod
    def _send_body(up, req, body) -> None:
        transport = up.transport
        if req.chunked:
            parts = []
            for chunk in body:
                parts += (b"%x\r\n" % len(chunk), chunk, b"\r\n")
            parts.append(b"0\r\n\r\n")
            transport.writelines(parts)
        elif body:
            transport.writelines(body)

    def _stream_body(self, conn, up, req) -> None:
        transport = up.transport
        up.on_pause = lambda: conn.pause("upstream")
        up.on_resume = lambda: conn.resume("upstream")
        if req.chunked:
            def write(data):
                if not transport.is_closing():
                    transport.writelines((b"%x\r\n" % len(data), data, b"\r\n"))

            def end():
                if not transport.is_closing():
                    transport.write(b"0\r\n\r\n")
        else:
            def write(data):
                if not transport.is_closing():
                    transport.write(data)

            def end():
                pass

        def fail(reason):
            log.info("request body did not arrive whole (%s): upstream connection reset", reason)
            up.abort()

        req.stream(write, end, fail)

    def _interim(self, conn, req, status, text, headers) -> None:
        """1xx responses other than 100 (103 Early Hints...) go to HTTP/1.1 clients."""
        if req.version == "1.1":
            conn.write(head_block(b"HTTP/1.1 %d %s\r\n" % (status, text), strip_hop_by_hop(headers)))

    async def _respond(self, conn, req, ex, decision, pool, up, response, request_whole) -> bool:
        status = response.status
        ex.status = status
        client_chunked = req.version == "1.1"
        names = response.names
        if HOP_BY_HOP.isdisjoint(names) and (client_chunked or b"transfer-encoding" not in names):
            out = response.headers.copy()  # nothing to strip
        else:
            out = strip_hop_by_hop(response.headers, client_chunked, names)
        if decision is not None and decision.changes.response_headers:
            out = _apply(decision.apply_response_headers, out)
        no_body = req.method == "HEAD" or status in (204, 304)
        chunked = response.chunked and not no_body
        delimited = not no_body and response.length is None and not response.chunked
        keep = (req.keep_alive and req.complete and not delimited
                and not (chunked and not client_chunked))
        if not keep and req.version == "1.1":
            out.append((b"connection", b"close"))
        reason = response.reason or REASONS.get(status, "Unknown").encode()
        # the head and the body bytes that came with it leave in one write
        pending = [head_block(b"HTTP/1.1 %d %s\r\n" % (status, reason), out)]
        chunk_out = chunked and client_chunked
        done = up.done
        finished = done.done() and done.exception() is None
        if finished and not chunk_out:  # the whole response is here: no sink, nothing to await
            early = up.take_early()
            sent = sum(map(len, early))
            pending += early
            conn.writelines(pending)
        else:
            sent = await self._relay(conn, req, ex, up, pending, chunk_out, finished)
            if sent is None:
                return False
        ex.bytes_sent = sent
        if chunk_out and not finished:
            conn.write(b"0\r\n\r\n")
        if response.keep_alive and request_whole and not req.failed and not delimited:
            pool.release(up)
        else:
            up.transport.close()
        if req.failed:
            ex.error = req.failed
            return False
        return keep

    async def _relay(self, conn, req, ex, up, pending, chunk_out, finished):
        """Body bytes to the client as they arrive, after ``pending`` (the head and what came
        with it); the bytes sent, or None when the response was cut short (the client is reset)."""
        sent = 0

        def sink(data):
            nonlocal sent
            sent += len(data)
            piece = (b"%x\r\n" % len(data), data, b"\r\n") if chunk_out else (data,)
            if pending is not None:
                pending.extend(piece)
            else:
                conn.writelines(piece)

        up.set_sink(sink)
        if finished and chunk_out:
            pending.append(b"0\r\n\r\n")
        conn.writelines(pending)
        pending = None
        conn.on_pause = up.transport.pause_reading
        conn.on_resume = up.transport.resume_reading
        conn.on_lost = up.abort
        try:
            await up.done
        except UpstreamError as exc:
            ex.bytes_sent = sent
            ex.error = "client closed connection" if conn.lost else (
                "client aborted body" if req.failed else exc.reason)
            reset(conn.transport)  # the client must see the response cut short
            return None
        finally:
            conn.on_lost = conn.on_pause = conn.on_resume = None
        return sent

    # --- mirrors -------------------------------------------------------------------------------

    def _mirror(self, pool, req, headers, body, path, backend) -> None:
        """Send a copy (whole body only) to ``pool``; its outcome never touches the response.
        A mirror backend under a BackendTLSPolicy gets its copy over TLS as verified as the
        primary's, or none when the policy cannot be honoured (never in plaintext)."""
        policy = self.router.attachments.policies.for_backend(backend)
        tls = None
        if policy is not None:
            tls = self._backend_tls(policy)
            if tls.error is not None:
                log.info("mirror to %s dropped: BackendTLSPolicy %s cannot be honoured (%s)",
                         backend, policy.policy or "-", tls.error)
                return
        task = self.loop.create_task(self._send_mirror(pool, req, headers, body, pool.base + path,
                                                       tls))
        self._mirror_tasks.add(task)
        task.add_done_callback(self._mirror_tasks.discard)

    async def _send_mirror(self, pool, req, headers, body, path, tls):
        try:
            up = await pool.acquire(False, tls)
            up.start(head_block(req.method.encode("latin-1") + b" " + path + b" HTTP/1.1\r\n", headers),
                     req.method == "HEAD")
            loop = self.loop
            idle = self.settings.upstream_timeout or float("inf")
            up.watch(loop.time() + idle, idle, None)
            self._send_body(up, req, body)
            response = await up.head
            await up.done
            if response.keep_alive:
                pool.release(up)
            else:
                up.transport.close()
        except UpstreamError as exc:
            log.info("mirror to %s failed: %s", pool.url, exc.reason)
