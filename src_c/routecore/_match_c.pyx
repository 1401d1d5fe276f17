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
- error texts and Decision attributes are those of the pure twin.

One module, four files: this one is the per-request path; ``_match_c_build.pxi`` (table
construction), ``_match_c_map.pxi`` (the hash map) and ``_match_c_decision.pxi`` (Decision) are
included textually, so the twin stays one module boundary (``routecore._match_c``, declared in
``_match_c.pxd``) and the hot path calls nothing across modules.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.dict cimport PyDict_Next
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_CheckExact, PyUnicode_GET_LENGTH
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy

from routecore import _explain, _explain_stream, _outcome
from routecore._adapters import (route_asgi as _route_asgi, route_wsgi as _route_wsgi,
                                 wsgi_headers as _wsgi_headers)
from routecore._paths import (checked_host_key as _py_checked_host_key, host_key as _py_host_key,
                              request_path, split_target)
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
    Py_ssize_t PyUnicode_Tailmatch(object, object, Py_ssize_t, Py_ssize_t, int) except -1

import ahocorasick
import re2


cdef inline bint _ascii_lower(str s):
    """True when ``s`` is ASCII without upper-case letters (so s.lower() is s)."""
    cdef Py_UCS4 c
    if not PyUnicode_IS_ASCII(s):
        return False
    for c in s:
        if c >= u'A' and c <= u'Z':
            return False
    return True


cdef inline bint _bytes_lower(bytes b):
    cdef unsigned char c
    for c in b:
        if c >= 65 and c <= 90:
            return False
    return True


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


cdef inline void _push_boundary(Req* req, Py_ssize_t length, uint64_t h) noexcept:
    """Remember the hash of the path's prefix of ``length`` (a "/" boundary some rule has)."""
    if req.nb < 64:
        req.blen[req.nb] = length
        req.bhash[req.nb] = h
        req.nb += 1
    else:
        req.overflow = True


cdef inline void _push_dot(HostHash* hh, Py_ssize_t i, uint64_t h) noexcept:
    """Remember the hash of the host's suffix starting at the "." at ``i``."""
    if hh.nd < 32:
        hh.dpos[hh.nd] = i
        hh.dhash[hh.nd] = h
        hh.nd += 1
    else:
        hh.overflow = True


cdef struct Bwd:
    # a backward pass over data[0:end] (data readable up to avail): h folds data[e:end]
    const unsigned char* data
    Py_ssize_t avail
    Py_ssize_t end
    uint64_t h
    Py_ssize_t e


cdef inline uint64_t _bwd_at(Bwd* b, Py_ssize_t i) noexcept:
    """The hash of data[i:end] (_hash_suffix), i at or before every position asked before."""
    cdef Py_ssize_t r
    while b.e - i >= 8:
        b.e -= 8
        b.h = _step(b.h, _load64(b.data + b.e))
    r = b.e - i
    if r:
        return _fin(_step(b.h, _loadpart(b.data + i, r, b.avail - i, i)), b.end - i)
    return _fin(b.h, b.end - i)


cdef void _host_hash(str s, Py_ssize_t end, HostHash* hh):
    """Hash the host key s[:end] and each of its suffixes that starts at a "." after the first
    character (the keys of wildcard hostnames "*.x" are stored as ".x"), in one backward pass."""
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef Bwd b
    cdef bint narrow = PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND
    hh.nd = 0
    hh.overflow = False
    hh.empty_label = False
    b.data = <const unsigned char*>PyUnicode_DATA(s)
    b.avail = len(s)
    b.end = b.e = end
    b.h = HASH_SEED
    for i in range(end - 1, -1, -1):
        c = s[i]
        if c == u'.':
            if i == 0 or s[i - 1] == u'.':  # an empty label: no wildcard takes it
                hh.empty_label = True
            if i >= 1:
                _push_dot(hh, i, _bwd_at(&b, i) if narrow else _hash_suffix(s, i, end))
    hh.full = _bwd_at(&b, 0) if narrow else _hash_suffix(s, 0, end)


cdef int _host_lookup(_StrMap exact, _StrMap wild, str s, Py_ssize_t end, HostHash* hh,
                      Py_ssize_t* after):
    """The value for host s[:end]: the exact name, else the longest wildcard suffix starting
    after position after[0] (pass -1 first; on return it is where the match was found, so the
    next call yields the next shorter suffix). -1 when none is left."""
    cdef Py_ssize_t k, i
    cdef MapSlot* slot
    if after[0] < 0:
        slot = exact.get_at(s, 0, end, hh.full, 0)
        after[0] = 0
        if slot != NULL:
            return slot.value
    if wild.count == 0 or hh.empty_label:
        after[0] = end
        return -1
    if hh.overflow:  # more than 32 labels: hash the suffixes one by one
        for i in range(after[0] + 1, end):
            if s[i] == u'.':
                slot = wild.get_at(s, i, end, _hash_suffix(s, i, end), 0)
                if slot != NULL:
                    after[0] = i
                    return slot.value
        after[0] = end
        return -1
    for k in range(hh.nd - 1, -1, -1):  # dpos is in decreasing order: longest suffix last
        i = hh.dpos[k]
        if i <= after[0]:
            continue
        slot = wild.get_at(s, i, end, hh.dhash[k], 0)
        if slot != NULL:
            after[0] = i
            return slot.value
    after[0] = end
    return -1


cdef class _Group:
    pass


cdef object _query_get(object query, Py_ssize_t start, str name):
    """Native twin of routecore._match_py.query_map(query[start:]).get(name): the first value,
    raw."""
    cdef str q
    cdef Py_ssize_t n, i, eq = -1, ln = len(name)
    if query is None:
        return None
    q = <str>query
    n = len(q)
    for i in range(start, n + 1):
        if i == n or q[i] == u'&':
            if i > start:
                if eq < 0:
                    eq = i
                if eq - start == ln and PyUnicode_Tailmatch(q, name, start, eq, -1):
                    return q[eq + 1:i] if eq < i else ""
            start = i + 1
            eq = -1
        elif eq < 0 and q[i] == u'=':
            eq = i
    return None


include "_match_c_decision.pxi"


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

    def __dealloc__(self):
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

    cdef inline int _slot(self, PyObject* name) noexcept:
        """The slot of header name ``name`` (any case), -1 when the table does not reference it,
        -2 when only _slot_general can say (rc_name_slot; slot names that are not lower-case
        ASCII)."""
        if not self.fast_names:
            return -2
        return _name_slot(name, self.snames, self.slens, self.nslots, self.name_lens)

    cdef int _put(self, PyObject** vals, int k, PyObject* value) except -1:
        """Keep ``value`` (as text) for slot k, joined to an earlier one with ","."""
        cdef object v
        if PyUnicode_CheckExact(<object>value):
            v = <object>value
        elif PyBytes_CheckExact(<object>value):
            v = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(<object>value),
                                       PyBytes_GET_SIZE(<object>value), NULL)
        else:
            v = _text(<object>value)
        if vals[k] != NULL:
            v = <object>vals[k] + "," + v
            Py_XDECREF(vals[k])
        Py_INCREF(v)
        vals[k] = <PyObject*>v
        return 0

    cdef int _collect(self, object headers, PyObject** vals, int upto, bint wsgi) except -1:
        """Values of the referenced headers of slots below ``upto`` into vals[slot] (new
        references, NULL when absent); repeated headers joined with ",". A list or tuple of
        pairs and a dict are read through borrowed references; header names go through _slot."""
        cdef object name, value
        cdef PyObject* item
        cdef PyObject* pk
        cdef PyObject* pv
        cdef Py_ssize_t j, count, pos = 0
        cdef int k
        cdef bint is_list
        cdef bint fast = self.fast_names
        cdef const unsigned char** names = self.snames
        cdef Py_ssize_t* lens = self.slens
        cdef int nslots = self.nslots
        cdef uint64_t mask = self.name_lens
        cdef Py_ssize_t hit_item[32]
        cdef int hit_slot[32]
        cdef Py_ssize_t nh, h
        if headers is None:
            return 0
        if wsgi:
            return self._collect_environ(headers, vals, upto)
        if type(headers) is dict:
            while PyDict_Next(headers, &pos, &pk, &pv):
                k = self._slot(pk)
                if k == -2:
                    k = self._slot_general(<object>pk)
                if 0 <= k < upto:
                    self._put(vals, k, pv)
            return 0
        is_list = type(headers) is list
        if is_list or type(headers) is tuple:
            count = PyList_GET_SIZE(headers) if is_list else PyTuple_GET_SIZE(headers)
            nh = _header_hits(PySequence_Fast_ITEMS(headers), count, names, lens, nslots, mask,
                              hit_item, hit_slot, 32) if fast else -1
            if nh >= 0:  # the common list: names read in C, values kept here
                for h in range(nh):
                    k = hit_slot[h]
                    j = hit_item[h]
                    if k >= upto or j >= (PyList_GET_SIZE(headers) if is_list else count):
                        continue  # (a value's str() shortened the list: read what is left)
                    item = PyList_GET_ITEM(headers, j) if is_list else PyTuple_GET_ITEM(headers, j)
                    if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
                        self._put(vals, k, PyTuple_GET_ITEM(<object>item, 1))
                return 0
            for j in range(count):
                item = PyList_GET_ITEM(headers, j) if is_list else PyTuple_GET_ITEM(headers, j)
                if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
                    pk = PyTuple_GET_ITEM(<object>item, 0)
                    k = _name_slot(pk, names, lens, nslots, mask) if fast else -2
                    if k == -2:
                        k = self._slot_general(<object>pk)
                    if 0 <= k < upto:
                        self._put(vals, k, PyTuple_GET_ITEM(<object>item, 1))
                    continue
                name, value = <object>item
                k = self._slot_general(name)
                if 0 <= k < upto:
                    self._put(vals, k, <PyObject*>value)
            return 0
        items = headers.items() if hasattr(headers, "items") else headers
        for name, value in items:
            k = self._slot(<PyObject*>name)
            if k == -2:
                k = self._slot_general(name)
            if 0 <= k < upto:
                self._put(vals, k, <PyObject*>value)
        return 0

    cdef int _collect_environ(self, dict environ, PyObject** vals, int upto) except -1:
        """_collect of routecore._adapters.wsgi_headers(environ), read in place: an HTTP_NAME key
        is the header "name" ("_" read as "-"), CONTENT_TYPE / CONTENT_LENGTH when not empty."""
        cdef PyObject* pk
        cdef PyObject* pv
        cdef Py_ssize_t pos = 0, n, j, start
        cdef const unsigned char* d
        cdef const unsigned char* key
        cdef unsigned char c
        cdef int k
        if not self.fast_names:
            return self._collect(_wsgi_headers(environ), vals, upto, False)
        while PyDict_Next(environ, &pos, &pk, &pv):
            if not PyUnicode_CheckExact(<object>pk) or not PyUnicode_IS_ASCII(<object>pk):
                return self._collect_slow_environ(environ, vals, upto)
            d = <const unsigned char*>PyUnicode_DATA(<object>pk)
            n = PyUnicode_GET_LENGTH(<object>pk)
            if n > 5 and memcmp(d, b"HTTP_", 5) == 0:
                start = 5
            elif (n == 12 and memcmp(d, b"CONTENT_TYPE", 12) == 0) or (
                    n == 14 and memcmp(d, b"CONTENT_LENGTH", 14) == 0):
                if not <object>pv:
                    continue
                start = 0
            else:
                continue
            n -= start
            if not (self.name_lens >> (n if n < 63 else 63)) & 1:
                continue
            for k in range(upto):
                if self.slens[k] != n:
                    continue
                key = self.snames[k]
                for j in range(n):
                    c = d[start + j]
                    if 65 <= c <= 90:
                        c += 32
                    elif c == 95:  # "_"
                        c = 45
                    if c != key[j]:
                        break
                else:
                    self._put(vals, k, pv)
                    break
        return 0

    cdef int _collect_slow_environ(self, dict environ, PyObject** vals, int upto) except -1:
        """An environ with a key that is not an ASCII str: read as routecore._adapters reads it
        (the same values, or the same error)."""
        cdef int j
        for j in range(upto):
            Py_XDECREF(vals[j])
            vals[j] = NULL
        return self._collect(_wsgi_headers(environ), vals, upto, False)

    cdef int _slot_general(self, object name) except -3:
        """_slot through the name dictionaries: any name type, any characters."""
        cdef object slot
        if type(name) is bytes:
            slot = self.slots_bytes.get(name)
            if slot is None and not _bytes_lower(<bytes>name):
                slot = self.slots_bytes.get((<bytes>name).lower())
        else:
            if type(name) is not str:
                name = _text(name)
            slot = self.slots_str.get(name)
            if slot is None and not _ascii_lower(<str>name):
                slot = self.slots_str.get((<str>name).lower())
        return -1 if slot is None else <int>slot

    cdef int _cond(self, CCond* c, object v) except -2:
        """1 when the request value ``v`` (None: absent) satisfies the condition."""
        if v is None:
            return 0
        if c.regex >= 0:
            return self.regexes[c.regex].fullmatch(v) is not None
        return <str>v == <str>self.pool[c.value]

    cdef PyObject** _hvals(self, Req* req) except NULL:
        """The request's referenced headers by slot (NULL: absent), read on first need into
        ``req`` (a buffer on the C stack for up to 16 names); Table.route releases them."""
        cdef Py_ssize_t k
        if req.hv == NULL:
            if self.nslots <= 16:
                req.hv = req.hv_stack
            else:
                req.hv = <PyObject**>PyMem_Malloc(self.nslots * sizeof(PyObject*))
                if req.hv == NULL:
                    raise MemoryError()
            for k in range(self.nslots):
                req.hv[k] = NULL
            self._collect(<object>req.headers, req.hv, self.nslots, req.wsgi)
        return req.hv

    cdef void _release(self, Req* req) noexcept:
        cdef Py_ssize_t k
        if req.hv != NULL:
            for k in range(self.nslots):
                Py_XDECREF(req.hv[k])
            if req.hv != req.hv_stack:
                PyMem_Free(req.hv)
            req.hv = NULL

    cdef int _check(self, CEntry* e, str method, Req* req) except -2:
        cdef int k
        cdef PyObject** hv
        cdef PyObject* v
        if e.method >= 0 and <str>self.pool[e.method] != method:
            return 0
        if e.h_start < e.h_end:
            hv = self._hvals(req)
            for k in range(e.h_start, e.h_end):
                v = hv[self.conds[k].slot]
                if v == NULL or not self._cond(&self.conds[k], <object>v):
                    return 0
        if e.q_start < e.q_end:
            for k in range(e.q_start, e.q_end):
                if not self._cond(&self.conds[k], _query_get(<object>req.query, req.qstart, self.pool[self.conds[k].slot])):
                    return 0
        return 1

    cdef int _bucket(self, int start, int count, str method, Req* req) except -2:
        """The first entry of entries[start:start + count] whose conditions pass, or -1."""
        cdef int j
        for j in range(start, start + count):
            if self._check(&self.entries[j], method, req):
                return j
        return -1

    cdef int _regexes(self, int gi, str path, Py_ssize_t n, str method, Req* req) except -2:
        cdef int start = self.groups[gi].regex_start
        cdef int count = self.groups[gi].regex_count
        cdef int i, j
        cdef bytearray live
        cdef _Group g
        if count == 0 or n == 0 or path[0] != u'/':  # "*", authority-form: no path rule matches
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
                if live[i] and self._check(&self.entries[start + i], method, req):
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
                if self._check(&self.entries[j], method, req):
                    return j
        return -1

    cdef void _hash_path(self, str path, Req* req):
        """The path's full hash, and the hash of every prefix that ends at a "/" boundary (or the
        end) and has a length some PathPrefix rule has (the general path: _scan does this for
        the common target)."""
        cdef Py_ssize_t i, n = len(path), last = n if n <= self.max_plen_all else self.max_plen_all
        cdef bytearray lens = self.plens_all
        cdef Fwd f
        cdef bint narrow = PyUnicode_KIND(path) == PyUnicode_1BYTE_KIND
        f.data = <const unsigned char*>PyUnicode_DATA(path)
        f.avail = n
        f.h = HASH_SEED
        f.words = 0
        req.nb = 0
        req.overflow = False
        for i in range(last + 1 if last < n else n):
            if path[i] == u'/' and lens[i]:
                _push_boundary(req, i, _fwd_at(&f, i) if narrow else _hash_prefix(path, i))
        req.full_hash = _fwd_at(&f, n) if narrow else _hash_prefix(path, n)
        if n <= last and lens[n]:
            _push_boundary(req, n, req.full_hash)

    cdef int _group(self, int gi, str path, Py_ssize_t n, str method, Req* req) except -2:
        """The winning entry of group gi for the path path[:n], or -1: its exact path, then
        regexes when they rank first, then prefixes longest first, then regexes."""
        cdef int r
        cdef Py_ssize_t k, p
        cdef CGroup* cg = &self.groups[gi]
        cdef MapSlot* slot = NULL
        cdef bytearray plens
        if (cg.elen_mask >> (n if n < 63 else 63)) & 1:  # some exact path has this length
            slot = self.exact.get_at(path, 0, n, req.full_hash, gi)
        if slot != NULL:
            r = self._bucket(slot.value, slot.count, method, req)
            if r >= 0:
                return r
        if self.regex_first:
            r = self._regexes(gi, path, n, method, req)
            if r >= 0:
                return r
        if cg.max_plen >= 0:
            if req.overflow:  # a hostile path with very many "/": hash each candidate prefix
                plens = (<_Group>self.group_objs[gi]).plens
                p = n if n <= cg.max_plen else cg.max_plen
                while p >= 0:
                    if plens[p] and (p == n or path[p] == u'/'):
                        slot = self.prefix.get_at(path, 0, p, _hash_prefix(path, p), gi)
                        if slot != NULL:
                            r = self._bucket(slot.value, slot.count, method, req)
                            if r >= 0:
                                return r
                    p -= 1
            else:
                for k in range(req.nb - 1, -1, -1):
                    p = req.blen[k]
                    if p > cg.max_plen:
                        continue
                    if p < 64:
                        if not (cg.plen_mask >> p) & 1:
                            continue
                    elif not (<_Group>self.group_objs[gi]).plens[p]:
                        continue
                    slot = self.prefix.get_at(path, 0, p, req.bhash[k], gi)
                    if slot != NULL:
                        r = self._bucket(slot.value, slot.count, method, req)
                        if r >= 0:
                            return r
        if not self.regex_first:
            return self._regexes(gi, path, n, method, req)
        return -1

    cdef int _listener_for(self, str s, Py_ssize_t end, HostHash* hh):
        """Listener index for host key s[:end]: exact, longest wildcard, catch-all, or -1."""
        cdef Py_ssize_t after = -1
        cdef int li = _host_lookup(self.listener_exact, self.listener_wild, s, end, hh, &after)
        return li if li >= 0 else self.listener_any

    cdef int _pick(self, const COut* o):
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

    cdef bint _scan(self, str target, Py_ssize_t* qpos, Req* req):
        """The fast path for the common target: one pass over a 1-byte-per-character origin-form
        target finds the query, hashes the path and its "/" boundaries. False when the target
        needs the general path (not origin-form, a fragment, dot-segments or escapes to
        normalise, wider characters). The bytes are looked at 16 at a time (_path_masks); only
        "/", "?" and the rare "#", "%", "\\", "." are visited one by one."""
        cdef Py_ssize_t n = len(target), i, base = 0, last = self.max_plen_all, q = -1, plen
        cdef const unsigned char* data
        cdef const unsigned char* lens
        cdef unsigned slash, qmark, other, bits, carry = 0
        cdef unsigned char c
        cdef Fwd f
        if n == 0 or PyUnicode_KIND(target) != PyUnicode_1BYTE_KIND:
            return False
        data = <const unsigned char*>PyUnicode_DATA(target)
        if data[0] != 47:  # "/"
            return False
        lens = <const unsigned char*>PyByteArray_AS_STRING(self.plens_all)
        f.data = data
        f.avail = n
        f.h = HASH_SEED
        f.words = 0
        req.nb = 0
        req.overflow = False
        while base < n:
            _path_masks(data + base, n - base, base, &slash, &qmark, &other)
            if qmark:  # the path ends at the first "?"
                bits = (qmark & (0 - qmark)) - 1
                slash &= bits
                other &= bits
            if self.merge and (slash & ((slash << 1) | carry)):  # "//": merged, the general path
                return False
            carry = (slash >> 15) & 1
            if other:
                bits = other
                while bits:
                    i = base + _ctz(bits)
                    bits &= bits - 1
                    c = data[i]
                    if c == 35:  # "#"
                        return False
                    if self.normalize and (c != 46 or data[i - 1] == 47):  # "%", "\\", "/."
                        return False
            bits = slash
            while bits:
                i = base + _ctz(bits)
                bits &= bits - 1
                if i > last:
                    break
                if lens[i]:
                    _push_boundary(req, i, _fwd_at(&f, i))
            if qmark:
                q = base + _ctz(qmark)
                break
            base += 16
        plen = n if q < 0 else q
        req.full_hash = _fwd_at(&f, plen)
        if plen <= last and lens[plen]:
            _push_boundary(req, plen, req.full_hash)
        if q >= 0 and memchr(data + q + 1, 35, n - q - 1) != NULL:
            return False
        qpos[0] = q
        return True

    def route(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        return self._decide(method, path, headers, host, scheme, sni, False)

    cdef object _decide(self, object method, object path, object headers, object host,
                        object scheme, object sni, bint wsgi):
        """route(), for route_wsgi too: ``wsgi`` says that ``headers`` is a WSGI environ (its
        HTTP_* keys and CONTENT_TYPE / CONTENT_LENGTH are the headers, as
        routecore._adapters.wsgi_headers reads them)."""
        cdef str target
        cdef str p, m
        cdef object query = None, authority = None
        cdef Py_ssize_t n, i, q = -1, plen
        cdef Req req
        cdef int r = -1
        cdef const COut* o = NULL
        cdef CChoice* cc
        cdef PyObject* fixed
        cdef _Listener lis
        cdef object hk
        cdef str sk
        cdef HostHash hh, sh
        cdef Py_ssize_t sn, after
        cdef int gi
        if not self.ready:
            raise TypeError("this Table is not initialised: tables come from router.gateway() "
                            "or router.service()")
        target = path if type(path) is str else _text(path)
        req.headers = <PyObject*>headers
        req.wsgi = wsgi
        req.hv = NULL
        req.qstart = 0
        try:
            if self._scan(target, &q, &req):  # the path and query stay inside target: no copies
                p = target
                if q >= 0:
                    plen = q
                    query = target
                    req.qstart = q + 1
                else:
                    plen = len(target)
            else:
                p, query, authority = split_target(target)
                p = request_path(p, self.normalize, self.merge, self.escaped)
                if p is None:  # refused (a malformed escape, an escaped slash, "..;"): 400
                    p = ""
                    plen = -1
                else:
                    plen = len(p)
                    self._hash_path(p, &req)
            req.query = <PyObject*>query
            m = method if type(method) is str else _text(method)
            if host is None:
                host = authority
            elif type(host) is not str:
                host = _text(host)
            if self.mesh:  # the Host plays no part in matching: read after, if nothing read it
                if plen >= 0:
                    lis = <_Listener>self.listeners[0]
                    if lis.any_group >= 0:
                        r = self._group(lis.any_group, p, plen, m, &req)
                    o = &self.entries[r].out if r >= 0 else &self.outs[lis.no_match]
                if host is None and _maybe_headers(headers):
                    host = self._host_only(&req)
                hk = _host_key_hash(host, &n, &hh, True)  # None: an invalid Host
                if plen < 0 or hk is None:
                    o = &self.outs[self.bad_request]
            else:
                if host is None and _maybe_headers(headers):
                    host = _header_host(self._hvals(&req))
                hk = _host_key_hash(host, &n, &hh, True)  # None: an invalid Host
                if plen < 0 or hk is None:
                    o = &self.outs[self.bad_request]
                else:
                    i = self._listener_for(<str>hk, n, &hh)
                    if i >= 0 and sni is not None:
                        sk = _host_key_hash(_text(sni), &sn, &sh, False)
                        if self._listener_for(sk, sn, &sh) != i:
                            i = -2  # the TLS connection belongs to another listener
                    if i == -1:
                        o = &self.outs[self.no_listener]
                    elif i == -2:
                        o = &self.outs[self.misdirected]
                    else:
                        lis = <_Listener>self.listeners[i]
                        after = -1
                        while r < 0:  # the exact host's group, then wildcards longest first
                            gi = _host_lookup(lis.exact_hosts, lis.wild_hosts, <str>hk, n, &hh, &after)
                            if gi < 0:
                                break
                            r = self._group(gi, p, plen, m, &req)
                        if r < 0 and lis.any_group >= 0:
                            r = self._group(lis.any_group, p, plen, m, &req)
                        o = &self.entries[r].out if r >= 0 else &self.outs[lis.no_match]
            cc = &self.cchoices[self._pick(o)]
            choice = <object>cc.choice
            fixed = cc.fixed
            if cc.needs_host and n == 0:  # a redirect to the request's host, and there is none
                choice = _outcome.without_host(choice, self._grpc_request(&req))
            elif cc.grpc != NULL and self._grpc_request(&req):
                choice = <object>cc.grpc
                fixed = cc.grpc_fixed
            if fixed != NULL:  # nothing from the request: the same object every time
                return <object>fixed
            if cc.cors:
                choice = _outcome.cors_choice(choice, m, _wsgi_headers(headers) if wsgi else headers)
            d = <Decision>Decision.__new__(Decision)
            d._choice = choice
            d._pstr = p
            d._plen = plen
            d._qstr = query
            d._qstart = req.qstart
            d._scheme = scheme
            d._host = host
            return d
        finally:
            self._release(&req)

    def __repr__(self):
        return view_repr(self.spec, True)

    cdef object _host_only(self, Req* req):
        """The request's Host header, else :authority, else None (routecore._match_py's
        reading), when nothing else may need the headers: slots 0 and 1 only, not kept. Headers
        already read, or a one-shot iterable, go through _hvals (read once)."""
        cdef object headers = <object>req.headers, host
        cdef PyObject* two[2]
        if req.hv != NULL or req.wsgi or not (type(headers) is list or type(headers) is tuple
                                              or type(headers) is dict):
            return _header_host(self._hvals(req))
        two[0] = two[1] = NULL
        try:
            self._collect(headers, two, 2, req.wsgi)
            host = _header_host(two)
        finally:
            Py_XDECREF(two[0])
            Py_XDECREF(two[1])
        return host

    cdef bint _grpc_request(self, Req* req) except -1:
        """The request's content-type is application/grpc..."""
        cdef PyObject* ct
        if not _maybe_headers(<object>req.headers):
            return False
        ct = self._hvals(req)[2]
        return ct != NULL and (<str>ct).startswith("application/grpc")

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
                out.append(self._decide(request[0], request[1], request[2], request[3], None, None, False))
            else:
                raise ValueError(f"a request is (method, target[, headers[, host]]), got {n} items")
        return out

    def route_asgi(self, scope):
        """routecore._adapters.route_asgi, natively for the common scope (a dict with bytes
        raw_path and query_string): the target is made in one copy."""
        cdef object raw, qs, scheme
        if type(scope) is not dict:
            return _route_asgi(self, scope)
        raw = (<dict>scope).get("raw_path")
        qs = (<dict>scope).get("query_string") or b""
        if type(raw) is not bytes or not raw or type(qs) is not bytes:
            return _route_asgi(self, scope)
        scheme = (<dict>scope).get("scheme")
        if scheme == "ws":
            scheme = "http"
        elif scheme == "wss":
            scheme = "https"
        return self._decide((<dict>scope).get("method", "GET"), _asgi_target(raw, qs),
                            (<dict>scope).get("headers") or (), None, scheme, None, False)

    def route_wsgi(self, environ):
        """routecore._adapters.route_wsgi, natively for an environ (a dict) with RAW_URI or
        REQUEST_URI: the headers are read from the environ in place (_collect)."""
        cdef object target
        if type(environ) is not dict:
            return _route_wsgi(self, environ)
        target = (<dict>environ).get("RAW_URI") or (<dict>environ).get("REQUEST_URI")
        if not target:
            return _route_wsgi(self, environ)
        return self._decide((<dict>environ).get("REQUEST_METHOD", "GET"), target, environ,
                            (<dict>environ).get("HTTP_HOST") or (<dict>environ).get("SERVER_NAME"),
                            (<dict>environ).get("wsgi.url_scheme"), None, True)


cdef str _asgi_target(bytes raw, bytes qs):
    """The target of an ASGI scope: raw_path up to a "?", then "?" and query_string if any,
    decoded as latin-1 in one copy."""
    cdef const char* r = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), nq = PyBytes_GET_SIZE(qs), total
    cdef const char* mark = <const char*>memchr(r, 63, n)
    cdef char buf[512]
    cdef char* out = buf
    if mark != NULL:
        n = mark - r
    if nq == 0:
        return PyUnicode_DecodeLatin1(r, n, NULL)
    total = n + 1 + nq
    if total > 512:
        out = <char*>PyMem_Malloc(total)
        if out == NULL:
            raise MemoryError()
    try:
        memcpy(out, r, n)
        out[n] = 63
        memcpy(out + n + 1, PyBytes_AS_STRING(qs), nq)
        return PyUnicode_DecodeLatin1(out, total, NULL)
    finally:
        if out != buf:
            PyMem_Free(out)


cdef inline object _header_host(PyObject** hv):
    """The Host header, else :authority, else None (slots 0 and 1)."""
    if hv[0] != NULL:
        return <object>hv[0]
    if hv[1] != NULL:
        return <object>hv[1]
    return None


cdef inline bint _maybe_headers(object headers):
    """False when headers is certainly empty (no need to read it)."""
    return headers is not None and not ((type(headers) is tuple or type(headers) is list)
                                        and len(headers) == 0)


cdef Py_ssize_t _host_fast(const unsigned char* data, Py_ssize_t n, HostHash* hh):
    """The common Host: lower-case ASCII letters, digits, "-" and "." with an optional ":port" of
    digits, at most 256 bytes, no empty or trailing label. Returns the key's end (before the
    port) with hh filled (one backward pass over the words, the "." found 16 bytes at a time), or
    -1 for anything else (routecore._paths.checked_host_key decides)."""
    cdef unsigned bad, dots[16]
    cdef Py_ssize_t base, k, i, stop = n, nblocks = (n + 15) >> 4
    cdef Bwd b
    if n > 256:
        return -1
    for k in range(nblocks):
        base = k << 4
        bad = _host_masks(data + base, n - base, base, &dots[k])
        if bad:
            i = base + _ctz(bad)
            if data[i] != 58 or stop != n:  # not ":", or a second one
                return -1
            stop = i
            for i in range(i + 1, n):
                if not 48 <= data[i] <= 57:  # the port is digits
                    return -1
            dots[k] &= (1u << (stop - base)) - 1
            nblocks = k + 1
            break
    if stop == 0 or data[stop - 1] == 46:  # no key, or a trailing "." (host_key drops it)
        return -1
    hh.nd = 0
    hh.overflow = False
    hh.empty_label = False
    b.data = data
    b.avail = n
    b.end = b.e = stop
    b.h = HASH_SEED
    for k in range(nblocks - 1, -1, -1):
        bad = dots[k]
        while bad:
            i = (k << 4) + _top(bad)
            bad &= ~(1u << _top(bad))
            if i == 0 or data[i - 1] == 46:  # an empty label: no wildcard takes it
                hh.empty_label = True
            if i >= 1:
                _push_dot(hh, i, _bwd_at(&b, i))
    hh.full = _bwd_at(&b, 0)
    return stop


cdef object _host_key_hash(object host, Py_ssize_t* end, HostHash* hh, bint check):
    """Native twin of routecore._paths.checked_host_key (``check``) or host_key, with the key's
    hashes (HostHash): returns a string whose first end[0] characters are the key, or None when
    ``check`` and the Host is invalid. The common lower-case "name[:port]" takes _host_fast (no
    copy); anything else goes through checked_host_key / host_key."""
    cdef str h, key
    cdef Py_ssize_t n, stop
    cdef const unsigned char* data
    if host is not None:
        h = <str>host
        n = len(h)
        if n and PyUnicode_IS_ASCII(h):
            data = <const unsigned char*>PyUnicode_DATA(h)
            if data[0] != 91:  # "[": an IPv6 literal
                stop = _host_fast(data, n, hh)
                if stop > 0:
                    end[0] = stop
                    return h
        if not check:
            key = _py_host_key(h)
        else:
            key = _py_checked_host_key(h)
            if key is None:
                end[0] = 0
                return None
    else:
        key = ""
    end[0] = len(key)
    _host_hash(key, end[0], hh)
    return key


include "_match_c_build.pxi"
include "_match_c_patch.pxi"
include "_match_c_stream.pxi"
