# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The native rule table: the same decisions as routecore/_match_py.py, found through indexes.

Invariants:
- a request touches only: one hash-map probe per host candidate, one per path candidate (the
  exact path, then the prefixes at "/" boundaries whose length the group has), the entries of
  the buckets found (runs of C entries, already in precedence order), and the request headers
  named by the table, read once into a buffer on the C stack;
- candidates are checked in precedence order and the first that matches wins, which is the
  same as the pure twin's "best of all that match";
- the request's path and query are never copied: maps are probed with (string, start, end) and
  the Decision keeps the target; a decision that needs nothing from the request is prebuilt;
- error texts and Decision attributes are those of the pure twin;
- the common request (_decide_c) takes no reference to its arguments: the caller's method,
  target and Host go down as borrowed pointers (they outlive the call); what the decision keeps
  is referenced by the Decision itself (_made); text made for any other request is referenced
  by _decide_c's keep[] until the decision is made.

One module, several files: this one is the Table and its per-request decision; the .pxi files
are included textually, so the twin stays one module boundary (``routecore._match_c``, declared
in ``_match_c.pxd``) and the hot path calls nothing across modules (module-level cdef functions
taking the Table, called directly):

- ``_match_c_hash.pxi``: the string hash the maps are keyed by;
- ``_match_c_map.pxi``: the hash map (_StrMap);
- ``_match_c_scan.pxi``: the pass over the target (path end, path and "/" prefix hashes);
- ``_match_c_host.pxi``: the Host checked, reduced to its key and looked up in the host maps;
- ``_match_c_headers.pxi``: the referenced request headers, read once;
- ``_match_c_decision.pxi``: Decision;
- ``_match_c_entry.pxi``: route()'s arguments; ``_match_c_adapt.pxi``: route_asgi, route_wsgi;
- ``_match_c_build.pxi``: table construction; ``_match_c_stream.pxi``: TLS / TCP / UDP.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.list cimport PyList_CheckExact, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.dict cimport PyDict_Next
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_CheckExact, PyUnicode_GET_LENGTH
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy, memset

from routecore import _explain, _explain_stream, _outcome
from routecore._adapters import (route_asgi as _route_asgi, route_wsgi as _route_wsgi,
                                 wsgi_headers as _wsgi_headers)
from routecore._paths import (checked_host_key as _py_checked_host_key, host_key as _py_host_key,
                              request_path, split_target)
from routecore._request import header_pair as _header_pair
from routecore._compile.table import view_repr

cdef extern from *:
    """
    #include <stdint.h>
    static inline uint64_t routecore_fetch_add(uint64_t *p, uint64_t v) {
    #if defined(__GNUC__) || defined(__clang__)
        return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    #else
        uint64_t old = *p; *p = old + v; return old;
    #endif
    }
    """
    uint64_t _fetch_add "routecore_fetch_add"(uint64_t* p, uint64_t v) nogil

cdef extern from "Python.h":
    PyObject** PySequence_Fast_ITEMS(object)
    object PyUnicode_DecodeLatin1(const char* s, Py_ssize_t size, const char* errors)
    bint PyUnicode_IS_ASCII(object)
    int PyUnicode_KIND(object)
    void* PyUnicode_DATA(object)
    int PyUnicode_1BYTE_KIND
    char* PyByteArray_AS_STRING(object)
    PyObject* _list_item "PyList_GET_ITEM"(PyObject* lst, Py_ssize_t i)  # borrowed, no references taken
    Py_ssize_t PyUnicode_Tailmatch(object, object, Py_ssize_t, Py_ssize_t, int) except -1
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    Py_ssize_t _ob_size "Py_SIZE"(PyObject* o)  # a list's or tuple's length, read in place
    Py_UCS4 _uread "PyUnicode_READ"(int kind, const void* data, Py_ssize_t i) nogil

import ahocorasick
import re2


cdef inline str _text(object v):
    if type(v) is str:
        return <str>v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("latin-1")
    return str(v)


include "_match_c_hash.pxi"


cdef inline uint64_t _mix(uint64_t h, int tag) noexcept:
    """The stored hash of a key with hash h in group tag (host maps use tag 0)."""
    h ^= <uint64_t>tag * <uint64_t>0x9E3779B97F4A7C15
    return h ^ (h >> 29)


include "_match_c_map.pxi"


cdef inline bint _same(str s, Py_ssize_t start, Py_ssize_t end, const unsigned char* key):
    """s[start:end] equals the 1-byte-per-character key of length end - start, without making
    the slice."""
    cdef Py_ssize_t i
    if PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND:
        return memcmp(<const char*>PyUnicode_DATA(s) + start, key, end - start) == 0
    for i in range(end - start):
        if s[start + i] != key[i]:
            return False
    return True


cdef inline bint _bytes_is(PyObject* b, PyObject* s) noexcept:
    """The exact bytes b, decoded as latin-1, equals the str s, compared in place: a 1-byte-kind
    str holds its characters (all < 256) as latin-1 bytes; a wider one holds one above 255,
    which no bytes decodes to."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(<object>b)
    return (PyUnicode_KIND(<object>s) == PyUnicode_1BYTE_KIND
            and PyUnicode_GET_LENGTH(<object>s) == n
            and memcmp(PyUnicode_DATA(<object>s), PyBytes_AS_STRING(<object>b), n) == 0)


cdef class _Group:
    pass


cdef Py_ssize_t _query_value(int kind, const void* data, Py_ssize_t start, Py_ssize_t n,
                             str name, Py_ssize_t* end) noexcept:
    """Where routecore._match_py.query_map's first value of ``name`` starts in the query whose
    characters (kind, data) are [start:n] (after its "=", or at its end when it has none): the
    value is [returned:*end]; -1 when ``name`` is not there. The query's kind and data are taken
    once (q[i] would take them again for every character); a str query's and a bytes one's
    (route_asgi's query_string, its latin-1 text: kind 1) alike."""
    cdef Py_ssize_t i, j, eq = -1, ln = PyUnicode_GET_LENGTH(name)
    cdef int nkind = PyUnicode_KIND(name)
    cdef const void* ndata = PyUnicode_DATA(name)
    cdef bint same
    cdef Py_UCS4 c
    for i in range(start, n + 1):
        c = _uread(kind, data, i) if i < n else u'&'
        if c == u'&':
            if i > start:
                if eq < 0:
                    eq = i
                if eq - start == ln:
                    if kind == 1 and nkind == 1:  # (no loop: the common query and name)
                        same = memcmp(<const char*>data + start, ndata, ln) == 0
                    else:
                        same = True
                        for j in range(ln):
                            if _uread(kind, data, start + j) != _uread(nkind, ndata, j):
                                same = False
                                break
                    if same:
                        end[0] = i
                        return eq + 1 if eq < i else i
            start = i + 1
            eq = -1
        elif eq < 0 and c == u'=':
            eq = i
    return -1


cdef object _query_get(object query, Py_ssize_t start, str name):
    """Native twin of routecore._match_py.query_map(query[start:]).get(name): the first value,
    raw (made text alone when the query is route_asgi's bytes)."""
    cdef Py_ssize_t v, end = 0
    if query is None:
        return None
    if type(query) is bytes:  # route_asgi's query_string, read where it lies (_match_c_adapt.pxi)
        v = _query_value(1, PyBytes_AS_STRING(query), start, PyBytes_GET_SIZE(query), name, &end)
        return None if v < 0 else _latin1(PyBytes_AS_STRING(query) + v, end - v)
    v = _query_value(PyUnicode_KIND(query), PyUnicode_DATA(query), start,
                     PyUnicode_GET_LENGTH(query), name, &end)
    return None if v < 0 else (<str>query)[v:end]


include "_match_c_decision.pxi"


cdef inline bint _unconditional(const CEntry* e) noexcept:
    """Entry e has no method, header or query condition: it matches as its path does (one
    field, e.plain, that _fill sets from the three)."""
    return e.plain


cdef inline int _slot_entry(Table self, MapSlot* slot, Req* req) except -2:
    """Table._bucket of a path slot (NULL: -1); a first entry without conditions, the common
    bucket, is taken without a call. A slot's bucket may be empty (count 0: a patched table's
    key whose rules were all removed): then its value points to no entry of its own."""
    if slot == NULL or slot.count == 0:
        return -1
    if _unconditional(&self.entries[slot.value]):
        return slot.value
    return self._bucket(slot.value, slot.count, req)


cdef int _long_prefixes(Table self, int gi, Req* req, const unsigned char* d) except -2:
    """Table._group's prefixes of 64 characters or more (req.blen, hashed by the pass), longest
    first; with req.overflow (a hostile path with very many "/"), every prefix the group has,
    each hashed on demand. The winning entry, or -1."""
    cdef int r
    cdef Py_ssize_t k, p, n = req.plen
    cdef CGroup* cg = &self.groups[gi]
    cdef bytearray plens = (<_Group>self.group_objs[gi]).plens
    if req.overflow:
        p = n if n <= cg.max_plen else cg.max_plen
        while p >= 0:
            if plens[p] and (p == n or (<str>req.path)[p] == u'/'):
                r = _slot_entry(self, self.prefix.get_at(
                    <str>req.path, 0, p, _hash_prefix(<str>req.path, p), gi), req)
                if r >= 0:
                    return r
            p -= 1
        return -1
    for k in range(req.nb - 1, -1, -1):
        p = req.blen[k]
        if p <= cg.max_plen and plens[p]:
            r = _slot_entry(self, _path_probe(<PyObject*>self.prefix, req, d, p, req.bhash[k], gi),
                            req)
            if r >= 0:
                return r
    return -1


cdef class Table:
    """The rule table of one view (Gateway port or mesh Service port), native twin."""

    def __cinit__(self):
        self.entries = NULL
        self.conds = NULL
        self.groups = NULL
        self.outs = NULL
        self.cum = NULL
        self.cchoices = NULL
        self.snames = NULL
        self.slens = NULL
        self.names = NULL

    def __dealloc__(self):
        PyMem_Free(self.names)
        PyMem_Free(self.snames)
        PyMem_Free(self.slens)
        PyMem_Free(self.entries)
        PyMem_Free(self.conds)
        PyMem_Free(self.groups)
        PyMem_Free(self.outs)
        PyMem_Free(self.cum)
        PyMem_Free(self.cchoices)

    def __init__(self, spec):
        if self.ready or self.entries != NULL:
            raise TypeError("this Table is already initialised (a table never changes)")
        _build(self, spec)
        _build_streams(self, spec)
        self.ready = True

    # --- per request ----------------------------------------------------------------------------

    cdef int _cond(self, CCond* c, object v) except -2:
        """1 when the request value ``v`` (None: absent) satisfies the condition."""
        if v is None:
            return 0
        if c.regex >= 0:
            return self.regexes[c.regex].fullmatch(v) is not None
        return <str>v == <str>self.pool[c.value]

    cdef int _check(self, CEntry* e, Req* req) except -2:
        cdef int k
        cdef PyObject** hv
        cdef PyObject* want
        cdef PyObject* v
        if e.method >= 0:
            want = _list_item(<PyObject*>self.pool, e.method)
            if want != req.method and <str>want != <str>req.method:
                return 0
        if e.h_start < e.h_end:
            hv = _hvals(self, req)
            for k in range(e.h_start, e.h_end):
                v = hv[self.conds[k].slot]
                if v == NULL:
                    return 0
                if self.conds[k].regex < 0 and PyBytes_CheckExact(<object>v):
                    # an exact value against raw bytes: compared in place, not decoded
                    if not _bytes_is(v, _list_item(<PyObject*>self.pool, self.conds[k].value)):
                        return 0
                elif not self._cond(&self.conds[k], _hv(hv, self.conds[k].slot)):
                    return 0
        if e.q_start < e.q_end:
            for k in range(e.q_start, e.q_end):
                if not self._cond(&self.conds[k], _query_get(<object>req.query, req.qstart, self.pool[self.conds[k].slot])):
                    return 0
        return 1

    cdef int _bucket(self, int start, int count, Req* req) except -2:
        """The first entry of entries[start:start + count] whose conditions pass, or -1."""
        cdef int j
        cdef CEntry* e
        for j in range(start, start + count):
            e = &self.entries[j]
            if _unconditional(e):
                return j  # no condition: taken as it is
            if self._check(e, req):
                return j
        return -1

    cdef int _regexes(self, int gi, Req* req) except -2:
        cdef int start = self.groups[gi].regex_start
        cdef int count = self.groups[gi].regex_count
        cdef int i, j
        cdef bytearray live
        cdef _Group g
        cdef str path
        cdef Py_ssize_t n = req.plen
        if count == 0 or n == 0:
            return -1
        if type(<object>req.path) is bytes:  # route_asgi's raw_path (_scan_apart): its text
            path = _latin1(PyBytes_AS_STRING(<object>req.path), n)
        else:
            path = <str>req.path
        if path[0] != u'/':  # "*", authority-form: no path rule matches
            return -1
        if n != len(path):
            path = path[:n]
        g = <_Group>self.group_objs[gi]
        if g.regex_set is not None:  # one RE2 pass over the path finds every matching pattern
            try:
                ids = g.regex_set.Match(path)
            except UnicodeEncodeError:  # not text (lone surrogates): no regex matches it
                return -1
            if not ids:
                return -1
            live = bytearray(count)
            for sid in ids:
                for i in g.regex_members[sid]:
                    live[i] = 1
            for i in range(count):
                if live[i] and self._check(&self.entries[start + i], req):
                    return start + i
            return -1
        live = bytearray(g.regex_always)
        if g.automaton is not None:
            for _, ks in g.automaton.iter(path):
                for i in ks:
                    live[i] = 1
        for i in range(count):
            if live[i]:
                j = start + i
                if self.regexes[self.entries[j].regex].fullmatch(path) is None:
                    continue
                if self._check(&self.entries[j], req):
                    return j
        return -1

    cdef int _group(self, int gi, Req* req) except -2:
        """The winning entry of group gi for the request's path (req.path[:req.plen]), or -1:
        its exact path, then regexes when they rank first, then prefixes longest first, then
        regexes. Only the lengths the group has are hashed and probed (_match_c_scan.pxi's
        invariants); a compact 1-byte path (req.pdata not NULL) is hashed and probed in place. (The path is read
        through req: a str local would take a reference.)"""
        cdef int r
        cdef Py_ssize_t p, n = req.plen
        cdef CGroup* cg = &self.groups[gi]
        cdef const unsigned char* d = req.pdata
        cdef uint64_t m
        if (cg.elen_mask >> (n if n < 63 else 63)) & 1:  # some exact path has this length
            if req.full_hash == 0:
                req.full_hash = _prefix_hash(req, d, n)
            r = _slot_entry(self, _path_probe(<PyObject*>self.exact, req, d, n, req.full_hash, gi),
                            req)
            if r >= 0:
                return r
        if self.regex_first:
            r = self._regexes(gi, req)
            if r >= 0:
                return r
        if cg.max_plen >= 0:
            if req.nb or req.overflow:  # boundaries of 64 or more: a call of their own
                r = _long_prefixes(self, gi, req, d)
                if r >= 0:
                    return r
            m = 0 if req.overflow else req.bmask & cg.plen_mask
            while m:  # under 64: the lengths the group has, longest first, hashed here
                p = _top64(m)
                m ^= (<uint64_t>1) << p
                r = _slot_entry(self, _path_probe(<PyObject*>self.prefix, req, d, p,
                                                  _prefix_hash(req, d, p), gi), req)
                if r >= 0:
                    return r
        if not self.regex_first:
            return self._regexes(gi, req)
        return -1

    cdef int _listener_for(self, str s, Py_ssize_t end, HostHash* hh) noexcept:
        """Listener index for host key s[:end]: exact, longest wildcard, catch-all, or -1."""
        cdef Py_ssize_t after = -1
        cdef int li = _host_lookup(<PyObject*>self.listener_exact, <PyObject*>self.listener_wild,
                                   hh, &after)
        return li if li >= 0 else self.listener_any

    cdef int _pick(self, const COut* o) noexcept:
        """The choice index of outcome o: its only choice, or a weighted draw."""
        cdef int n = o.count
        cdef uint64_t z, r
        cdef uint64_t* cum
        cdef int i = 0
        if n == 1:
            return o.start
        # one atomic step of the SplitMix64 state: concurrent callers never share a draw
        z = _fetch_add(&self.state, <uint64_t>0x9E3779B97F4A7C15) + <uint64_t>0x9E3779B97F4A7C15
        z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
        z = z ^ (z >> 31)
        cum = self.cum + o.cum_off
        r = z % cum[n - 1]
        while r >= cum[i]:
            i += 1
        return o.start + i

    # route(method, path, headers=(), *, host=None, scheme=None, sni=None): _route, installed
    # below as a METH_FASTCALL method (_match_c_entry.pxi)

    cdef object _decide(self, object method, object path, object headers, object host,
                        object scheme, object sni, bint wsgi):
        """route(), for route_wsgi too: ``wsgi`` says that ``headers`` is a WSGI environ (its
        HTTP_* keys and CONTENT_TYPE / CONTENT_LENGTH are the headers, as
        routecore._adapters.wsgi_headers reads them). rc_route's common calls go to _decide_c
        without it."""
        cdef ReqMore more
        more.scheme = <PyObject*>scheme
        more.sni = <PyObject*>sni
        more.wsgi = wsgi
        more.query = NULL
        return _decide_c(self, <PyObject*>method, <PyObject*>path, <PyObject*>headers,
                         <PyObject*>host, &more)

    def __repr__(self):
        return view_repr(self.spec, True)

    def route_tls(self, sni):
        """The decision for a TLS connection to this port with server name ``sni``."""
        return _stream_decision(self, _tls_outcome(self, sni))

    def route_stream(self, protocol=None):
        """The decision for a TCP connection or UDP flow to this port."""
        return _stream_decision(self, _stream_outcome(self, protocol))

    def explain_tls(self, sni):
        """Why a TLS connection with this SNI goes where it goes."""
        return _explain_stream.explain_tls(self.spec, self.route_tls, sni)

    def explain_stream(self, protocol=None):
        """Why a TCP connection or UDP flow goes where it goes."""
        return _explain_stream.explain_stream(self.spec, self.route_stream, protocol)

    def explain(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        """Why this request goes where it goes: routecore._explain.Explanation."""
        return _explain.explain(self.spec, self.route, method, path, headers, host=host,
                                scheme=scheme, sni=sni)

    def route_many(self, requests):
        """Decide many requests in order: each is (method, target[, headers[, host]]); the loop
        of routecore._adapters.route_many (same answers, same errors), calling _decide directly."""
        cdef list out = []
        cdef Py_ssize_t n
        for request in requests:
            n = len(request)
            if n == 2:
                out.append(self._decide(request[0], request[1], (), None, None, None, False))
            elif n == 3:
                out.append(self._decide(request[0], request[1], request[2], None, None, None, False))
            elif n == 4:
                out.append(self._decide(request[0], request[1], _given(request[2], request[3]),
                                        request[3], None, None, False))
            else:
                raise ValueError(f"a request is (method, target[, headers[, host]]), got {n} items")
        return out

    # route_asgi(scope), route_wsgi(environ): these, for any call; the common call (one
    # positional argument) goes through rc_route_asgi / rc_route_wsgi, installed below in
    # their place (_match_c_adapt.pxi)
    def route_asgi(self, scope):
        """routecore._adapters.route_asgi, natively for a dict scope (_match_c_adapt.pxi)."""
        return _asgi_entry(self, scope)

    def route_wsgi(self, environ):
        """routecore._adapters.route_wsgi, natively for a dict environ (_match_c_adapt.pxi)."""
        return _wsgi_entry(self, environ)


cdef void _not_ready() except *:
    raise TypeError("this Table is not initialised: tables come from router.gateway() "
                    "or router.service()")


cdef object _DECLINED = object()  # _decide_c's "decide the joined target instead"


cdef object _decide_c(Table self, PyObject* method, PyObject* path, PyObject* headers,
                      PyObject* host, const ReqMore* more):
    """route()'s decision (method, path and host not yet known to be text; the references stay
    the caller's), with scheme, sni and wsgi from ``more``, or None, None and False when it is
    NULL: rc_route (_match_c_entry.pxi) jumps here for its common calls (six arguments, all in
    registers). The common request (text method, target and Host, an origin-form target _scan
    reads whole) makes no object but the Decision; anything else is made ready by _req_general.
    Req's fields are set here and by _scan, each once: _decide_at reads them.
    more.query not NULL (route_asgi's path and query apart, _decide_split; method a str, path
    raw_path's exact bytes, host None): _DECLINED unless _scan_apart reads the path whole and
    finds no "?" in it."""
    cdef Req req
    cdef PyObject* keep[4]  # what _req_general made (keep[0] NULL: nothing)
    cdef PyObject* split = NULL
    cdef Py_ssize_t q = -1
    if not self.ready:
        _not_ready()
    req.method = method
    req.path = path
    req.host = host
    req.headers = headers
    if more == NULL:
        req.scheme = req.sni = <PyObject*>None
        req.wsgi = False
    else:
        req.scheme = more.scheme
        req.sni = more.sni
        req.wsgi = more.wsgi
        split = more.query
    req.hv = NULL
    req.host2[0] = req.host2[1] = NULL
    keep[0] = NULL
    try:
        if split != NULL:
            if not _scan_apart(self, path, &req):  # (raw_path's bytes, read in place)
                return _DECLINED
            req.query = split
            req.qstart = 0
        elif not (type(<object>path) is str and type(<object>method) is str
                and (host == <PyObject*>None or type(<object>host) is str)):
            _req_general(self, &req, False, keep)
        elif not _scan(self, <str>path, &q, &req):
            _req_general(self, &req, True, keep)
        elif q >= 0:  # the path and query stay inside the target: no copies
            req.plen = q
            req.query = path
            req.qstart = q + 1
        else:
            req.plen = _ulen(path)
            req.query = <PyObject*>None
            req.qstart = 0
        return _decide_at(self, &req)  # (its only call: the compiler puts it inline)
    finally:
        _release(self, &req)
        if keep[0] != NULL:
            _drop4(keep)


cdef int _req_general(Table self, Req* req, bint unscannable, PyObject** keep) except -1:
    """req made ready for _decide_at for any request: the method, target and Host made text, the
    target split and its path normalised when _scan cannot read it as it is (``unscannable``:
    _scan has already said so of this target). The text req points to is referenced by
    keep[0:4] (path, method, query, Host: set together at the end, when nothing can fail any
    more), which _decide_c releases after the decision."""
    cdef str target = (<str>req.path if type(<object>req.path) is str
                       else _text(<object>req.path))
    cdef str p
    cdef str m = (<str>req.method if type(<object>req.method) is str
                  else _text(<object>req.method))
    cdef object query = None, authority = None, host
    cdef Py_ssize_t q = -1
    req.qstart = 0
    if not unscannable and _scan(self, target, &q, req):
        p = target
        if q >= 0:
            req.plen = q
            query = target
            req.qstart = q + 1
        else:
            req.plen = len(target)
    else:
        p, query, authority = split_target(target)
        p = request_path(p, self.normalize, self.merge, self.escaped)
        if p is None:  # refused (a malformed escape, an escaped slash, "..;"): 400
            p = ""
            req.plen = -1
            req.pdata = NULL
        else:
            req.plen = len(p)
            _hash_path(self, p, req)
    req.query = <PyObject*>query
    req.path = <PyObject*>p
    req.method = <PyObject*>m
    host = <object>req.host
    if host is None:
        host = authority
    elif type(host) is not str:
        host = _text(host)
    req.host = <PyObject*>host
    keep[0] = _own(p)
    keep[1] = _own(m)
    keep[2] = _own(query)
    keep[3] = _own(host)
    return 0


cdef inline PyObject* _own(object o) noexcept:
    """o, with a reference of its own taken (dropped by _drop4)."""
    Py_INCREF(o)
    return <PyObject*>o


cdef void _drop4(PyObject** keep) noexcept:
    Py_XDECREF(keep[0])
    Py_XDECREF(keep[1])
    Py_XDECREF(keep[2])
    Py_XDECREF(keep[3])


cdef object _decide_at(Table self, Req* req):
    """The decision for the text method, path req.path[:req.plen] (plen -1: a refused path),
    the Host (a str, bytes from a header, read in place and kept so by the Decision, or None) and the target's query in req; the references are the caller's,
    and so is releasing req."""
    cdef Py_ssize_t n, i, after
    cdef int r = -1, gi
    cdef const COut* o = NULL
    cdef CChoice* cc
    cdef PyObject* lis
    cdef PyObject* hkp
    cdef object hown, hk
    cdef HostHash hh
    if self.mesh:  # the Host plays no part in matching: read after, if nothing read it
        if req.plen >= 0:
            lis = _list_item(<PyObject*>self.listeners, 0)
            if (<_Listener>lis).any_group >= 0:
                r = self._group((<_Listener>lis).any_group, req)
            o = &self.entries[r].out if r >= 0 else &self.outs[(<_Listener>lis).no_match]
        if req.host == <PyObject*>None and req.headers != <PyObject*>None:
            hown = _read_host(self, req)
            req.host = <PyObject*>hown
        if req.host == <PyObject*>None:  # no Host: valid, and nothing to check
            n = 0
            if req.plen < 0:
                o = &self.outs[self.bad_request]
        else:
            hkp = _host_key_short(req.host, &n, &hh)
            if hkp == NULL:
                hk = _host_key_hash_any(<object>req.host, &n, &hh, True)  # None: an invalid Host
                hkp = <PyObject*>hk
            if req.plen < 0 or hkp == <PyObject*>None:
                o = &self.outs[self.bad_request]
    else:  # (an empty list or tuple of headers: _read_host's walk finds no Host in it)
        if req.host == <PyObject*>None and req.headers != <PyObject*>None:
            hown = _read_host(self, req)
            req.host = <PyObject*>hown
        hkp = _host_key_short(req.host, &n, &hh)  # (the common Host: no call, no reference)
        if hkp == NULL:
            hk = _host_key_hash_any(<object>req.host, &n, &hh, True)  # None: an invalid Host
            hkp = <PyObject*>hk
        if req.plen < 0 or hkp == <PyObject*>None:
            o = &self.outs[self.bad_request]
        else:
            if self.hostless:
                i = self.listener_any  # no listener has a hostname: every Host is its
            else:
                i = self._listener_for(<str>hkp, n, &hh)
            if i >= 0 and req.sni != <PyObject*>None and _sni_listener(self, req.sni) != i:
                i = -2  # the TLS connection belongs to another listener
            if i == -1:
                o = &self.outs[self.no_listener]
            elif i == -2:
                o = &self.outs[self.misdirected]
            else:
                lis = _list_item(<PyObject*>self.listeners, i)
                after = -1
                while r < 0:  # the exact host's group, then wildcards longest first
                    gi = _host_lookup(<PyObject*>(<_Listener>lis).exact_hosts,
                                      <PyObject*>(<_Listener>lis).wild_hosts, &hh, &after)
                    if gi < 0:
                        break
                    r = self._group(gi, req)
                if r < 0 and (<_Listener>lis).any_group >= 0:
                    r = self._group((<_Listener>lis).any_group, req)
                o = &self.entries[r].out if r >= 0 else &self.outs[(<_Listener>lis).no_match]
    cc = &self.cchoices[self._pick(o)]
    if cc.rare:  # needs_host, grpc or cors (no object local of their own here)
        return _decide_choice(self, req, cc, n)
    if cc.fixed != NULL:  # nothing from the request: the same object every time
        return <object>cc.fixed
    return _take(_made(cc.choice, req.path, req.plen, req.query, req.qstart, req.scheme,
                       req.host))


cdef int _sni_listener(Table self, PyObject* sni) except -3:
    """The listener index of the TLS server name ``sni`` (as _listener_for: -1 none)."""
    cdef Py_ssize_t sn
    cdef HostHash sh
    cdef str sk = _host_key_hash(_text(<object>sni), &sn, &sh, False)
    return self._listener_for(sk, sn, &sh)


cdef object _decide_choice(Table self, Req* req, const CChoice* cc, Py_ssize_t n):
    """_decide_at's decision for choice cc when it may depend on more than the request's
    path (a redirect to the request's host, a gRPC form, CORS); n: the Host key's length (0:
    no Host)."""
    cdef PyObject* choice = cc.choice
    cdef PyObject* fixed = cc.fixed
    cdef object made
    if cc.needs_host and n == 0:  # a redirect to the request's host, and there is none
        made = _outcome.without_host(<object>choice, _grpc_request(self, req))
        choice = <PyObject*>made
    elif cc.grpc != NULL and _grpc_request(self, req):
        choice = cc.grpc
        fixed = cc.grpc_fixed
    if fixed != NULL:  # nothing from the request: the same object every time
        return <object>fixed
    if cc.cors:
        made = _outcome.cors_choice(<object>choice, <object>req.method,
                                    _wsgi_headers(<object>req.headers) if req.wsgi
                                    else <object>req.headers)
        choice = <PyObject*>made
    return _take(_made(choice, req.path, req.plen, req.query, req.qstart, req.scheme, req.host))


include "_match_c_entry.pxi"
include "_match_c_headers.pxi"
include "_match_c_adapt.pxi"
include "_match_c_scan.pxi"
include "_match_c_host.pxi"
include "_match_c_build.pxi"
include "_match_c_patch.pxi"
include "_match_c_stream.pxi"
