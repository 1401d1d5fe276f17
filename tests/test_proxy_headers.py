"""The header list that goes upstream: the copy taken for a request with no header to drop or
read (hop-by-hop, X-Forwarded-*/Forwarded, Expect) is what the general filter gives."""
from types import SimpleNamespace

from hypothesis import given, strategies as st

from routecore._serve.forward import Forwarding

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
