# The native twin's reading of a WSGI environ's headers (routecore._match_c, included by
# _match_c_headers.pxi): the values routecore._adapters.wsgi_headers(environ) gives the slots,
# read in place: an HTTP_NAME key is the header "name" ("_" read as "-", any case),
# CONTENT_TYPE / CONTENT_LENGTH when their value is not empty; repeated names joined with ","
# in the environ's order (_put).
#
# Invariants:
# - an exact dict that rc_dict_items reads (_match_c_headers.pxi) is walked over its entry array
#   in C (rc_walk_environ) through borrowed references, no Python code running; it stops at the
#   first key that is not an exact compact-ASCII str, a CONTENT_* value that is not an exact str
#   (its truth is Python's), a value to keep that is not an exact str or bytes, or a repeated
#   name, and the environ is then read again from the start by _collect_environ's loop, which
#   gives the same answers or the same errors as routecore._adapters.wsgi_headers;
# - an HTTP_ key's name is tested by its length first (rc_names.lens), then against the slots of
#   its length's bucket byte by byte ("_" read as "-", A-Z as a-z: rc_env_is).


cdef extern from *:
    """
    /* 1 when the environ key's name d[0:n] reads as the lower-case ASCII name[0:n] the way
       wsgi_headers reads it: "_" as "-", A-Z as a-z. */
    static inline int rc_env_is(const unsigned char *d, Py_ssize_t n, const unsigned char *name) {
        Py_ssize_t j;
        for (j = 0; j < n; j++) {
            unsigned char c = d[j];
            c = c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
            if (c != name[j])
                return 0;
        }
        return 1;
    }

    /* The environ entries e[0:2 * count] (rc_dict_items; removed ones skipped) into
       vals[0:upto] (new references), names[k] being slot k's name: 1 when it read them all, 0
       when one is left to the caller's general reading (vals may hold references). */
    static int rc_walk_environ(const rc_names *t, const unsigned char *const *names,
                               PyObject *const *e, Py_ssize_t count, PyObject **vals, int upto) {
        const uint64_t lens = t->lens;
        PyObject *const *end = e + 2 * count;
        for (; e != end; e += 2) {
            PyObject *key = e[0], *v = e[1];
            const unsigned char *d;
            Py_ssize_t n;
            int k;
            if (v == NULL)  /* removed */
                continue;
            if (!Py_IS_TYPE(key, &PyUnicode_Type) || !PyUnicode_IS_COMPACT_ASCII(key))
                return 0;
            n = ((PyASCIIObject *)key)->length;
            d = (const unsigned char *)(((PyASCIIObject *)key) + 1);
            if (n > 5 && memcmp(d, "HTTP_", 5) == 0) {  /* (inlined: two compares) */
                d += 5;
                n -= 5;
            } else if ((n == 12 && memcmp(d, "CONTENT_TYPE", 12) == 0)
                       || (n == 14 && memcmp(d, "CONTENT_LENGTH", 14) == 0)) {
                if (!Py_IS_TYPE(v, &PyUnicode_Type))
                    return 0;
                if (PyUnicode_GET_LENGTH(v) == 0)  /* empty: not a header */
                    continue;
            } else {
                continue;
            }
            if (!((lens >> (n & 63)) & 1))
                continue;
            for (k = t->b[n & 63].first; k >= 0; k = t->slots[k].next)
                if (t->slots[k].len == n && rc_env_is(d, n, names[k]))
                    break;
            if (k < 0 || k >= upto)
                continue;
            if (vals[k] != NULL || !(Py_IS_TYPE(v, &PyUnicode_Type) || Py_IS_TYPE(v, &PyBytes_Type)))
                return 0;
            Py_INCREF(v);
            vals[k] = v;
        }
        return 1;
    }

    /* rc_walk_environ over environ: 1 or 0 as it says, -1 when environ is not an exact dict
       that rc_dict_items reads in place. */
    static int rc_walk_env(const rc_names *t, const unsigned char *const *names, PyObject *environ,
                           PyObject **vals, int upto) {
        Py_ssize_t count;
        PyObject *const *e;
        if (!Py_IS_TYPE(environ, &PyDict_Type) || (e = rc_dict_items(environ, &count)) == NULL)
            return -1;
        return rc_walk_environ(t, names, e, count, vals, upto);
    }
    """
    int _walk_env "rc_walk_env"(const rc_names* t, const unsigned char** names, PyObject* environ,
                                PyObject** vals, int upto) noexcept


cdef int _collect_environ(Table self, dict environ, PyObject** vals, int upto) except -1:
    """_collect of routecore._adapters.wsgi_headers(environ), read in place: by
    rc_walk_environ when it can, else by PyDict_Next (the slots' names compared one by one)."""
    cdef PyObject* pk
    cdef PyObject* pv
    cdef Py_ssize_t pos = 0, n, j, start
    cdef const unsigned char* d
    cdef const unsigned char* key
    cdef unsigned char c
    cdef int k
    cdef int whole
    if not self.fast_names:
        return _collect(self, _wsgi_headers(environ), vals, upto, False)
    whole = _walk_env(<const rc_names*>self.names, self.snames, <PyObject*>environ, vals, upto)
    if whole == 1:
        return 0
    if whole == 0:  # (read again from the start below)
        for k in range(upto):
            Py_XDECREF(vals[k])
            vals[k] = NULL
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
