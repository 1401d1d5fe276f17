"""The header list that goes upstream: the copy taken for a request with no header to drop or
read (hop-by-hop, X-Forwarded-*/Forwarded, Expect) is what the general filter gives. The
hop-by-hop stripping of a response (with the lower-case names the parser made, or without) is
what RFC 9110 7.6.1 says, whatever the Connection header lists."""
from types import SimpleNamespace

from hypothesis import given, strategies as st

from routecore._serve.forward import Forwarding, strip_hop_by_hop

_NAMES = [b"Host", b"host", b"User-Agent", b"accept", b"Cookie", b"X-Request-Id",
          b"content-type", b"Content-Length", b"traceparent", b"x-b3-traceid"]
_VALUES = st.sampled_from([b"shop.example.com", b"a", b"", b"1", b"x, y", b" v "])


def _request(pairs):
    return SimpleNamespace(headers=list(pairs), names=[n.lower() for n, _ in pairs])


@given(st.lists(st.tuples(st.sampled_from(_NAMES), _VALUES), max_size=8),
       st.booleans(), st.sampled_from(["10.0.0.7", "::1"]), st.booleans())
def test_plain_requests_take_the_copy_and_match_the_filter(pairs, trusted, peer, tls):
    req = _request(pairs)
    conn = SimpleNamespace(peer=peer, tls=tls)
    pool = SimpleNamespace(authority=b"up:8080")
    fast = Forwarding()._upstream_headers(conn, req, None, trusted, pool)
    xff = []
    general, xfp, xfh, host = Forwarding._filtered_headers(req.headers, req.names, trusted, xff)
    assert (xff, xfp, xfh) == ([], None, None)
    # the copy: the client's list unchanged, then what the proxy adds (see forward.py)
    assert fast[:len(general)] == general == req.headers
    added = fast[len(general):]
    hosts = [v for n, v in req.headers if n.lower() == b"host"]
    assert added == ([] if hosts else [(b"host", b"up:8080")]) + [
        (b"x-forwarded-for", peer.encode()), (b"x-forwarded-proto", b"https" if tls else b"http")
    ] + ([(b"x-forwarded-host", hosts[0])] if hosts else [])
    assert fast is not req.headers  # a copy: the route's filters never touch the request's list


_HOP = [b"Connection", b"connection", b"Keep-Alive", b"TE", b"Trailer", b"Upgrade", b"close",
        b"Proxy-Connection", b"X-Hop", b"transfer-encoding", b"Content-Length", b"Host", b"Date"]
_CONNECTION = st.sampled_from([b"keep-alive", b"close", b"Close", b"x-hop", b"close, X-Hop",
                               b" keep-alive , date", b"content-length, host", b"",
                               b"transfer-encoding"])


@given(st.lists(st.tuples(st.sampled_from(_HOP), _CONNECTION), max_size=8), st.booleans(),
       st.booleans())
def test_hop_by_hop_stripping_is_the_rfc_with_or_without_names(pairs, keep_chunked, named):
    nominated = {t.strip().lower() for n, v in pairs if n.lower() == b"connection"
                 for t in v.split(b",")}
    drop = ({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
            | (nominated - {b"content-length", b"transfer-encoding", b"host"})
            | (set() if keep_chunked else {b"transfer-encoding"}))
    names = [n.lower() for n, _ in pairs] if named else None
    assert strip_hop_by_hop(pairs, keep_chunked, names) == [
        (n, v) for n, v in pairs if n.lower() not in drop]
