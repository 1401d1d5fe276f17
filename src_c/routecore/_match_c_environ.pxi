# The native twin's reading of a WSGI environ's headers (routecore._match_c, included by
# _match_c_headers.pxi): the values routecore._adapters.wsgi_headers(environ) gives the slots,
# read in place: an HTTP_NAME key is the header "name" ("_" read as "-", any case),
# CONTENT_TYPE / CONTENT_LENGTH when their value is not empty; repeated names joined with ","
# in the environ's order (_put).


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
        if n > 5 and d[0] == 72 and memcmp(d, b"HTTP_", 5) == 0:  # ("H": no call for most)
            start = 5
        elif d[0] == 67 and ((n == 12 and memcmp(d, b"CONTENT_TYPE", 12) == 0) or (
                n == 14 and memcmp(d, b"CONTENT_LENGTH", 14) == 0)):
            if PyUnicode_CheckExact(<object>pv):  # (truth of a str: its length, no call)
                if PyUnicode_GET_LENGTH(<object>pv) == 0:
                    continue
            elif not <object>pv:
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
