# The native twin's adapters (routecore._match_c.Table.route_asgi / route_wsgi), included by
# _match_c.pyx: an ASGI scope or a WSGI environ read in place, then decided by Table._decide.
#
# Invariants:
# - the same answers (or errors) as routecore._adapters.route_asgi / route_wsgi for every scope
#   and environ: what the fast readings here do not take (not a dict, raw_path not a non-empty
#   bytes, a query_string neither bytes nor None, no RAW_URI / REQUEST_URI) goes to them;
# - a scope's or environ's key is read by _dict_get: first the entry where that key was found
#   last time (servers build every scope / environ with the same keys in the same order, so the
#   entry's position repeats), compared by identity, then by value for an exact compact-ASCII
#   str; only when that entry is not the key, a dict lookup (which decides, so the answer is
#   always the lookup's) and, when the key is there, one pass that remembers its position. The
#   positions (_HINTS) are only ever a guess: any value gives the lookup's answer;
# - values read are referenced by locals while _decide runs (it may run Python code);
# - an ASGI target is made without a copy when the scope's "path" is the same text as raw_path
#   (the common request: no escapes, no "?", no query_string), else in one copy (_asgi_target).

cdef extern from *:
    """
    /* where each key of RC_KEYS was last found (an entry index of PyDict_Next), a guess */
    static Py_ssize_t rc_hints[16];

    /* k is key (an exact compact-ASCII str): the same object, or an exact compact-ASCII str
       with the same characters */
    static inline int rc_key_is(PyObject *k, PyObject *key) {
        Py_ssize_t n;
        if (k == key)
            return 1;
        if (!PyUnicode_CheckExact(k) || !PyUnicode_IS_COMPACT_ASCII(k))
            return 0;
        n = ((PyASCIIObject *)k)->length;
        return n == ((PyASCIIObject *)key)->length
            && memcmp((PyASCIIObject *)k + 1, (PyASCIIObject *)key + 1, (size_t)n) == 0;
    }

    /* The value of d's entry number i (PyDict_Next's order) when its key is key, else NULL:
       read in place where _match_c_headers.pxi's rc_dict_items knows the layout (a combined
       table of str keys, the layout checked at import), else by PyDict_Next from i. */
    static inline PyObject *rc_dict_at(PyObject *d, Py_ssize_t i, PyObject *key) {
        Py_ssize_t count;
        PyObject *k, *v;
        PyObject *const *e = rc_dict_items(d, &count);
        if (e != NULL) {
            if (i < 0 || i >= count)
                return NULL;
            k = e[2 * i];
            v = e[2 * i + 1];
            return (v != NULL && rc_key_is(k, key)) ? v : NULL;  /* (NULL: a removed entry) */
        }
        return (i >= 0 && PyDict_Next(d, &i, &k, &v) && rc_key_is(k, key)) ? v : NULL;
    }

    /* d[key] (borrowed), NULL when absent or on an error (set: the lookup's own, from a key
       whose __eq__ raised); key an exact compact-ASCII str, *hint where it was last found */
    static PyObject *rc_dict_get(PyObject *d, PyObject *key, Py_ssize_t *hint) {
        Py_ssize_t pos;
        PyObject *k, *v, *w;
        v = rc_dict_at(d, *hint, key);
        if (v != NULL)
            return v;
        v = PyDict_GetItemWithError(d, key);
        if (v != NULL) {  /* there, elsewhere: remember where (an equal key of another type is
                             not found by the pass, and the lookup keeps answering) */
            pos = 0;
            while (PyDict_Next(d, &pos, &k, &w))
                if (rc_key_is(k, key)) {
                    *hint = pos - 1;
                    break;
                }
        }
        return v;
    }
    """
    PyObject* _dict_get_c "rc_dict_get"(object d, PyObject* key, Py_ssize_t* hint)
    Py_ssize_t* _HINTS "rc_hints"
    PyObject* PyErr_Occurred()
    bint PyUnicode_IS_COMPACT_ASCII(object)
    void PyErr_Clear()


# the keys _dict_get reads, by their index in _HINTS
cdef enum:
    K_METHOD = 0
    K_RAW_PATH
    K_QUERY
    K_SCHEME
    K_HEADERS
    K_PATH
    K_RAW_URI
    K_REQUEST_URI
    K_HTTP_HOST
    K_SERVER_NAME
    K_REQUEST_METHOD
    K_URL_SCHEME


cdef inline object _dict_get(dict d, str key, int k, object default, bint quiet):
    """d.get(key, default) for an ASCII str key, through _HINTS[k] (the module's invariants);
    ``quiet``: a lookup's error reads as the key's absence (a key the adapter does not read)."""
    cdef PyObject* v = _dict_get_c(d, <PyObject*>key, &_HINTS[k])
    if v == NULL:
        if PyErr_Occurred() != NULL:
            if quiet:
                PyErr_Clear()
            else:
                _raise_current()
        return default
    return <object>v


cdef int _raise_current() except -1:
    """Propagate the exception already set."""
    return -1


cdef inline bint _truthy(object v) except -1:
    """bool(v), without a call for a str or None."""
    if type(v) is str:
        return PyUnicode_GET_LENGTH(v) != 0
    if v is None:
        return False
    return bool(v)


cdef inline bint _same_text(object s, const char* r, Py_ssize_t n) noexcept:
    """s is an exact compact-ASCII str whose characters are the bytes r[0:n]."""
    return (type(s) is str and PyUnicode_IS_COMPACT_ASCII(s) and PyUnicode_GET_LENGTH(s) == n
            and memcmp(PyUnicode_DATA(s), r, n) == 0)


cdef str _asgi_target(bytes raw, bytes qs):
    """The target of an ASGI scope: raw_path up to a "?", then "?" and query_string if any,
    decoded as latin-1 in one copy."""
    cdef const char* r = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), nq = PyBytes_GET_SIZE(qs), total
    cdef const char* mark = <const char*>memchr(r, 63, n)
    cdef char buf[512]
    cdef char* out = buf
    cdef object s
    if mark != NULL:
        n = mark - r
    total = n + 1 + nq if nq else n
    if nq == 0:
        return _latin1(r, n)
    if _ascii_bytes(<const unsigned char*>r, n) and _ascii_bytes(
            <const unsigned char*>PyBytes_AS_STRING(qs), nq):  # straight into the new str
        s = PyUnicode_New(total, 127)
        out = <char*>PyUnicode_DATA(s)
        memcpy(out, r, n)
        out[n] = 63
        memcpy(out + n + 1, PyBytes_AS_STRING(qs), nq)
        return <str>s
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


cdef object _route_scope(Table self, dict scope):
    """Table.route_asgi for a dict scope (routecore._adapters.route_asgi's answers)."""
    cdef object raw = _dict_get(scope, "raw_path", K_RAW_PATH, None, False)
    cdef object qs, scheme, headers, target, path
    cdef const char* r
    cdef Py_ssize_t n
    if type(raw) is not bytes or PyBytes_GET_SIZE(raw) == 0:
        return _route_asgi(self, scope)
    qs = _dict_get(scope, "query_string", K_QUERY, None, False)
    if qs is None:
        qs = b""
    elif type(qs) is not bytes:
        return _route_asgi(self, scope)
    r = PyBytes_AS_STRING(raw)
    n = PyBytes_GET_SIZE(raw)
    target = None
    if PyBytes_GET_SIZE(qs) == 0 and memchr(r, 63, n) == NULL:  # the target is raw_path whole
        path = _dict_get(scope, "path", K_PATH, None, True)
        if _same_text(path, r, n):  # ... and the scope has it as text already
            target = path
    if target is None:
        target = _asgi_target(<bytes>raw, <bytes>qs)
    scheme = _dict_get(scope, "scheme", K_SCHEME, None, False)
    if type(scheme) is str:  # (a length test first: no compare for "http" / "https")
        if PyUnicode_GET_LENGTH(scheme) == 2 and <str>scheme == "ws":
            scheme = "http"
        elif PyUnicode_GET_LENGTH(scheme) == 3 and <str>scheme == "wss":
            scheme = "https"
    elif scheme is not None:
        if scheme == "ws":
            scheme = "http"
        elif scheme == "wss":
            scheme = "https"
    headers = _dict_get(scope, "headers", K_HEADERS, None, False)
    if type(headers) is not list and type(headers) is not tuple and not headers:
        headers = ()
    return self._decide(_dict_get(scope, "method", K_METHOD, "GET", False), target, headers, None,
                        scheme, None, False)


cdef object _route_environ(Table self, dict environ):
    """Table.route_wsgi for a dict environ (routecore._adapters.route_wsgi's answers); the
    headers are read from the environ in place (_collect)."""
    cdef object target = _dict_get(environ, "RAW_URI", K_RAW_URI, None, False), host
    if not _truthy(target):
        target = _dict_get(environ, "REQUEST_URI", K_REQUEST_URI, None, False)
        if not _truthy(target):
            return _route_wsgi(self, environ)
    host = _dict_get(environ, "HTTP_HOST", K_HTTP_HOST, None, False)
    if not _truthy(host):
        host = _dict_get(environ, "SERVER_NAME", K_SERVER_NAME, None, False)
    return self._decide(_dict_get(environ, "REQUEST_METHOD", K_REQUEST_METHOD, "GET", False), target,
                        environ, host, _dict_get(environ, "wsgi.url_scheme", K_URL_SCHEME, None, False),
                        None, True)
