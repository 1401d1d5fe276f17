# The native twin's reading of request headers (routecore._match_c), included by _match_c.pyx:
# the values of the header names a table references (its slots), read from the forms route()
# takes (a list or tuple of pairs, a dict, any mapping or iterable of pairs, a WSGI environ).
#
# Invariants:
# - the same values as routecore._match_py reads: names compared case-insensitively, values as
#   text (bytes decoded as latin-1), repeated headers joined with ","; only referenced names are
#   kept, each value once per request (Req.hv, released by Table._decide);
# - slot 0 is "host", 1 ":authority", 2 "content-type" (_match_c_build.pxi); a list or tuple of
#   (str or bytes, ...) pairs and a dict are walked through borrowed references, with names
#   compared in C (rc_name_slot, rc_header_hits); any other form or name type takes the general
#   reading (_slot_general), which gives the same answers or the same errors.


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


# the lengths of the names of slots 0 and 1, "host" and ":authority", as rc_name_slot's len_mask
cdef uint64_t _HOST_LENS = (<uint64_t>1 << 4) | (<uint64_t>1 << 10)


cdef inline bint _no_host_header(Table t, PyObject* headers) noexcept:
    """True when ``headers`` is a list or tuple of pairs with certainly no "host" nor
    ":authority" among the names (rc_header_hits over slots 0 and 1 alone); False when it has
    one, or when only Table._host_only can say."""
    cdef Py_ssize_t count
    cdef Py_ssize_t hit_item[1]
    cdef int hit_slot[1]
    if not t.fast_names:
        return False
    if PyList_CheckExact(<object>headers):
        count = PyList_GET_SIZE(<object>headers)
    elif PyTuple_CheckExact(<object>headers):
        count = PyTuple_GET_SIZE(<object>headers)
    else:
        return False
    return _header_hits(PySequence_Fast_ITEMS(<object>headers), count, t.snames, t.slens, 2,
                        _HOST_LENS, hit_item, hit_slot, 0) == 0


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


cdef inline int _slot(Table self, PyObject* name) noexcept:
    """The slot of header name ``name`` (any case), -1 when the table does not reference it,
    -2 when only _slot_general can say (rc_name_slot; slot names that are not lower-case
    ASCII)."""
    if not self.fast_names:
        return -2
    return _name_slot(name, self.snames, self.slens, self.nslots, self.name_lens)


cdef int _put(Table self, PyObject** vals, int k, PyObject* value) except -1:
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


cdef int _collect(Table self, object headers, PyObject** vals, int upto, bint wsgi) except -1:
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
        return _collect_environ(self, headers, vals, upto)
    if type(headers) is dict:
        while PyDict_Next(headers, &pos, &pk, &pv):
            k = _slot(self, pk)
            if k == -2:
                k = _slot_general(self, <object>pk)
            if 0 <= k < upto:
                _put(self, vals, k, pv)
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
                    _put(self, vals, k, PyTuple_GET_ITEM(<object>item, 1))
            return 0
        for j in range(count):
            item = PyList_GET_ITEM(headers, j) if is_list else PyTuple_GET_ITEM(headers, j)
            if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
                pk = PyTuple_GET_ITEM(<object>item, 0)
                k = _name_slot(pk, names, lens, nslots, mask) if fast else -2
                if k == -2:
                    k = _slot_general(self, <object>pk)
                if 0 <= k < upto:
                    _put(self, vals, k, PyTuple_GET_ITEM(<object>item, 1))
                continue
            name, value = <object>item
            k = _slot_general(self, name)
            if 0 <= k < upto:
                _put(self, vals, k, <PyObject*>value)
        return 0
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        k = _slot(self, <PyObject*>name)
        if k == -2:
            k = _slot_general(self, name)
        if 0 <= k < upto:
            _put(self, vals, k, <PyObject*>value)
    return 0


cdef int _collect_environ(Table self, dict environ, PyObject** vals, int upto) except -1:
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
        return _collect(self, _wsgi_headers(environ), vals, upto, False)
    while PyDict_Next(environ, &pos, &pk, &pv):
        if not PyUnicode_CheckExact(<object>pk) or not PyUnicode_IS_ASCII(<object>pk):
            return _collect_slow_environ(self, environ, vals, upto)
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
                _put(self, vals, k, pv)
                break
    return 0


cdef int _collect_slow_environ(Table self, dict environ, PyObject** vals, int upto) except -1:
    """An environ with a key that is not an ASCII str: read as routecore._adapters reads it
    (the same values, or the same error)."""
    cdef int j
    for j in range(upto):
        Py_XDECREF(vals[j])
        vals[j] = NULL
    return _collect(self, _wsgi_headers(environ), vals, upto, False)


cdef int _slot_general(Table self, object name) except -3:
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


cdef PyObject** _hvals(Table self, Req* req) except NULL:
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
        _collect(self, <object>req.headers, req.hv, self.nslots, req.wsgi)
    return req.hv


cdef void _release(Table self, Req* req) noexcept:
    cdef Py_ssize_t k
    if req.hv != NULL:
        for k in range(self.nslots):
            Py_XDECREF(req.hv[k])
        if req.hv != req.hv_stack:
            PyMem_Free(req.hv)
        req.hv = NULL


cdef object _host_only(Table self, Req* req):
    """The request's Host header, else :authority, else None (routecore._match_py's
    reading), when nothing else may need the headers: slots 0 and 1 only, not kept. Headers
    already read, or a one-shot iterable, go through _hvals (read once)."""
    cdef object headers = <object>req.headers, host
    cdef PyObject* two[2]
    if req.hv != NULL or req.wsgi or not (type(headers) is list or type(headers) is tuple
                                          or type(headers) is dict):
        return _header_host(_hvals(self, req))
    two[0] = two[1] = NULL
    try:
        _collect(self, headers, two, 2, req.wsgi)
        host = _header_host(two)
    finally:
        Py_XDECREF(two[0])
        Py_XDECREF(two[1])
    return host


cdef bint _grpc_request(Table self, Req* req) except -1:
    """The request's content-type is application/grpc..."""
    cdef PyObject* ct
    if not _maybe_headers(<object>req.headers):
        return False
    ct = _hvals(self, req)[2]
    return ct != NULL and (<str>ct).startswith("application/grpc")
