# The native twin's adapters (routecore._match_c.Table.route_asgi / route_wsgi), included by
# _match_c.pyx: an ASGI scope or a WSGI environ read in place, then decided by Table._decide
# (route_asgi: by _decide_split, which takes the target's path and query apart, when it can).
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
#   positions (rc_hints) are only ever a guess: any value gives the lookup's answer;
# - values read are referenced by locals while _decide runs (it may run Python code);
# - an ASGI target's path and query are raw_path's and query_string's bytes themselves (no str
#   is made, the scope's "path" is not read: _scan_apart reads raw_path as Req.path, the query
#   matches (_query_get) read the query as latin-1 where it lies, the Decision keeps both
#   and decodes them when asked, as _regexes does the path); the two are joined into a target
#   (raw_path cut at its first "?", both decoded) only when _decide_split declines them (a "?"
#   in the path, a "#" in the query, a path _scan_apart does not read whole).

cdef extern from *:
    """
    /* where each key of RC_KEYS was last found (an entry index of PyDict_Next), a guess */
    static Py_ssize_t rc_hints[16];

    /* a[0:n] == b[0:n], compared as words (short texts: a memcmp call costs more), at least 8
       readable bytes before a and b (an object's header: a compact str's, a bytes'); a word
       that would start before them is the one that ends at the last byte, shifted. */
    RC_INLINE int rc_same_words(const unsigned char *a, const unsigned char *b, Py_ssize_t n) {
        Py_ssize_t i;
        if (n < 8)
            return n == 0 || ((rc_load64(a + n - 8) ^ rc_load64(b + n - 8)) >> (8 * (8 - n))) == 0;
        for (i = 0; i + 8 < n; i += 8)
            if (rc_load64(a + i) != rc_load64(b + i))
                return 0;
        return rc_load64(a + n - 8) == rc_load64(b + n - 8);  /* the last word, overlapping */
    }

    /* k is key (an exact compact-ASCII str): the same object, or an exact compact-ASCII str
       with the same length, hash (when both are made) and characters. */
    RC_INLINE int rc_key_is(PyObject *k, PyObject *key) {
        Py_ssize_t n, hk, hkey;
        if (k == key)
            return 1;
        if (!PyUnicode_CheckExact(k) || !PyUnicode_IS_COMPACT_ASCII(k))
            return 0;
        n = ((PyASCIIObject *)k)->length;
        hk = ((PyASCIIObject *)k)->hash;
        hkey = ((PyASCIIObject *)key)->hash;
        if (n != ((PyASCIIObject *)key)->length || (hk != -1 && hkey != -1 && hk != hkey))
            return 0;
        return rc_same_words((const unsigned char *)((PyASCIIObject *)k + 1),
                             (const unsigned char *)((PyASCIIObject *)key + 1), n);
    }

    /* The entry number i of d (PyDict_Next's order) by PyDict_Next, when its key is key. */
    static RC_NOINLINE PyObject *rc_dict_next_at(PyObject *d, Py_ssize_t i, PyObject *key) {
        PyObject *k, *v;
        return (i >= 0 && PyDict_Next(d, &i, &k, &v) && rc_key_is(k, key)) ? v : NULL;
    }

    /* The value of d's entry number i (PyDict_Next's order) when its key is key, else NULL:
       read in place where _match_c_headers.pxi's rc_dict_items knows the layout (a combined
       table of str keys, the layout checked at import), else by PyDict_Next from i. */
    RC_INLINE PyObject *rc_dict_at(PyObject *d, Py_ssize_t i, PyObject *key) {
        Py_ssize_t count;
        PyObject *const *e = rc_dict_items(d, &count);
        if (e == NULL)
            return rc_dict_next_at(d, i, key);
        if ((size_t)i >= (size_t)count || e[2 * i + 1] == NULL)  /* (NULL: a removed entry) */
            return NULL;
        return rc_key_is(e[2 * i], key) ? e[2 * i + 1] : NULL;
    }

    /* d.get(key, dflt) (borrowed) after rc_dict_at at *hint missed, NULL on an error (set: the
       lookup's own, from a key whose __eq__ raised; quiet: cleared, and dflt); key an exact
       compact-ASCII str, *hint moved to where it is when it is elsewhere. */
    static RC_NOINLINE PyObject *rc_dict_miss(PyObject *d, PyObject *key, Py_ssize_t *hint,
                                              PyObject *dflt, int quiet) {
        Py_ssize_t pos;
        PyObject *k, *v, *w;
        v = PyDict_GetItemWithError(d, key);
        if (v != NULL) {  /* there, elsewhere: remember where (an equal key of another type is
                             not found by the pass, and the lookup keeps answering) */
            pos = 0;
            while (PyDict_Next(d, &pos, &k, &w))
                if (rc_key_is(k, key)) {
                    *hint = pos - 1;
                    break;
                }
            return v;
        }
        if (PyErr_Occurred()) {
            if (!quiet)
                return NULL;
            PyErr_Clear();
        }
        return dflt;
    }

    /* d.get(key, dflt) as a new reference (NULL: an error, set), through *hint: the hit
       inline in the caller, anything else in rc_dict_miss */
    RC_INLINE PyObject *rc_dict_get(PyObject *d, PyObject *key, Py_ssize_t *hint,
                                    PyObject *dflt, int quiet) {
        PyObject *v = rc_dict_at(d, *hint, key);
        if (v == NULL)
            v = rc_dict_miss(d, key, hint, dflt, quiet);
        Py_XINCREF(v);
        return v;
    }
    #define rc_dict_get_k(d, key, k, dflt, quiet) rc_dict_get(d, key, &rc_hints[k], dflt, quiet)

    /* d's entries (rc_dict_items) for rc_dict_get_e, NULL when not readable in place */
    static inline PyObject **rc_entries(PyObject *d, Py_ssize_t *count) {
        return (PyObject **)rc_dict_items(d, count);
    }

    /* rc_dict_get with d's entries *e[0:2 * *count] read once by the caller (rc_entries): the
       key at its entry of last time taken inline when it is the same object (a server's scope
       keys are interned literals, as these are); anything else by rc_dict_get, after which *e
       is read again (a lookup can run Python code, which can change d). */
    RC_INLINE PyObject *rc_dict_get_e(PyObject ***e, Py_ssize_t *count, PyObject *d,
                                      PyObject *key, Py_ssize_t *hint, PyObject *dflt, int quiet) {
        PyObject *v;
        Py_ssize_t i = *hint;
        if (*e != NULL && (size_t)i < (size_t)*count && (*e)[2 * i] == key
                && (v = (*e)[2 * i + 1]) != NULL) {
            Py_INCREF(v);
            return v;
        }
        v = rc_dict_get(d, key, hint, dflt, quiet);
        *e = rc_entries(d, count);
        return v;
    }
    #define rc_dict_get_ek(e, count, d, key, k, dflt, quiet) \
        rc_dict_get_e(e, count, d, key, &rc_hints[k], dflt, quiet)

    /* b[0:n] holds the byte c (0 < n; b: an exact bytes' data, after 32 bytes of its object
       header): up to 16 bytes, one load that ends at b + n (no call), else memchr. */
    RC_INLINE int rc_bytes_has(const char *b, Py_ssize_t n, char c) {
    #if defined(__SSE2__)
        if (n <= 16)
            return ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(
                (const __m128i *)(b + n - 16)), _mm_set1_epi8(c))) >> (16 - n)) != 0;
    #endif
        return memchr(b, c, (size_t)n) != NULL;
    }
    typedef char rc_bytes_header_before[offsetof(PyBytesObject, ob_sval) >= 16 ? 1 : -1];
    """
    # d.get(key, default) for an exact ASCII str key through rc_hints[k]; ``quiet``: a lookup's
    # error reads as the key's absence (a key the adapter does not read). (In C: a Cython
    # inline function around the read was not inlined by the compiler.)
    object _dict_get "rc_dict_get_k"(dict d, str key, int k, object default, bint quiet)
    # the same, through the entries read once (_entries) for several keys of one dict
    PyObject** _entries "rc_entries"(dict d, Py_ssize_t* count)
    object _dict_get_e "rc_dict_get_ek"(PyObject*** e, Py_ssize_t* count, dict d, str key, int k,
                                         object default, bint quiet)
    bint PyUnicode_IS_COMPACT_ASCII(object)
    bint _bytes_has "rc_bytes_has"(const char* b, Py_ssize_t n, char c) noexcept


# the keys _dict_get reads, by their index in rc_hints
cdef enum:
    K_METHOD = 0
    K_RAW_PATH
    K_QUERY
    K_SCHEME
    K_HEADERS
    K_RAW_URI
    K_REQUEST_URI
    K_HTTP_HOST
    K_SERVER_NAME
    K_REQUEST_METHOD
    K_URL_SCHEME


cdef inline bint _truthy(object v) except -1:
    """bool(v), without a call for a str or None."""
    if type(v) is str:
        return PyUnicode_GET_LENGTH(v) != 0
    if v is None:
        return False
    return bool(v)


cdef object _route_scope(Table self, dict scope):
    """Table.route_asgi for a dict scope (routecore._adapters.route_asgi's answers): raw_path's
    and query_string's bytes are decided apart and where they lie by _decide_split when it can
    (raw_path has no "?": _scan_apart stops at one, and _decide_split declines), else joined
    into the target (raw_path up to its first "?", then "?" and query_string, decoded) for
    _decide. The keys are read in the pure adapter's order (raw_path, query_string, scheme,
    method, headers) through the entries read once (_dict_get_e), read again after a
    comparison that can run Python code."""
    cdef Py_ssize_t count = 0
    cdef PyObject** e = _entries(scope, &count)
    cdef object raw = _dict_get_e(&e, &count, scope, "raw_path", K_RAW_PATH, None, False)
    cdef object qs, scheme, headers, method, path, d
    cdef PyObject* query = <PyObject*>None  # (qs's, or None: no reference of its own)
    cdef const char* r
    cdef const char* mark
    cdef Py_ssize_t n, nq
    if type(raw) is not bytes or PyBytes_GET_SIZE(raw) == 0:
        return _route_asgi(self, scope)
    qs = _dict_get_e(&e, &count, scope, "query_string", K_QUERY, None, False)
    if qs is None:
        qs = b""
    elif type(qs) is not bytes:
        return _route_asgi(self, scope)
    scheme = _dict_get_e(&e, &count, scope, "scheme", K_SCHEME, None, False)
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
        e = _entries(scope, &count)  # (the comparisons can run Python code)
    method = _dict_get_e(&e, &count, scope, "method", K_METHOD, "GET", False)
    headers = _dict_get_e(&e, &count, scope, "headers", K_HEADERS, None, False)
    if type(headers) is not list and type(headers) is not tuple and not headers:
        headers = ()
    nq = PyBytes_GET_SIZE(qs)
    if nq:
        query = <PyObject*>qs
    # (35: "#")
    if type(method) is str and (nq == 0 or not _bytes_has(PyBytes_AS_STRING(qs), nq, 35)):
        d = _decide_split(self, <str>method, raw, query, headers, scheme)
        if d is not None:
            return d
    r = PyBytes_AS_STRING(raw)
    n = PyBytes_GET_SIZE(raw)
    mark = <const char*>memchr(r, 63, n)
    if mark != NULL:  # what follows a "?" in raw_path is not the query: dropped
        n = mark - r
    path = _latin1(r, n)
    if nq:
        path = <str>path + "?" + _latin1(PyBytes_AS_STRING(qs), nq)
    return self._decide(method, path, headers, None, scheme, None, False)


cdef object _decide_split(Table self, str method, bytes raw, PyObject* query, object headers,
                          object scheme):
    """Table._decide(method, target, headers, scheme=scheme) for the target raw_path's text +
    "?" + query's text (raw_path's alone when query is None; else a non-empty exact bytes)
    without joining or decoding them, for a query without "#"; None when _scan_apart does not
    read raw_path whole or finds a "?" in it (the caller then decides the joined target).
    Where _scan_apart reads raw_path whole, _scan reads the joined target whole too, up to the
    same "?", with the same boundaries and hashes (_match_c_scan.pxi: past the "?" only a "#"
    matters), so _decide_c reaches _decide_at with the same Req but for where the path and
    query lie (raw_path's bytes, and the query's own bytes from 0, instead of the target's
    text: _group reads the path through Req.pdata, _regexes and the Decision take the bytes as
    their latin-1 text, the query matches and the Decision read the query through Req.query
    and Req.qstart alone)."""
    cdef ReqMore more
    more.scheme = <PyObject*>scheme
    more.sni = <PyObject*>None
    more.wsgi = False
    more.query = query
    d = _decide_c(self, <PyObject*>method, <PyObject*>raw, <PyObject*>headers, <PyObject*>None,
                  &more)
    return None if d is _DECLINED else d


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


# Table.route_asgi / route_wsgi as called: METH_FASTCALL | METH_KEYWORDS methods (rc_route_asgi,
# rc_route_wsgi) that take the common call, one positional argument, straight to _asgi_entry /
# _wsgi_entry; any other call goes to the Cython methods of _match_c.pyx (which raise Python's
# errors for a wrong call), bound to the Table. Their signature stays (``$self, scope`` /
# ``$self, environ``: the pure twin's, keywords allowed).
cdef extern from *:
    """
    typedef PyObject *(*rc_entry1)(PyObject *, PyObject *);
    static rc_entry1 rc_adapt_fast[2];       /* _asgi_entry, _wsgi_entry */
    static PyObject *rc_adapt_general[2];    /* the Cython methods (functions of the class) */
    static PyMethodDef rc_adapt_defs[2];

    /* any other call: the general method, bound to self */
    static PyObject *rc_adapt_call(int which, PyObject *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames) {
        PyObject *r, *bound = PyMethod_New(rc_adapt_general[which], self);
        if (bound == NULL)
            return NULL;
        r = PyObject_Vectorcall(bound, args, (size_t)nargs, kwnames);
        Py_DECREF(bound);
        return r;
    }

    static PyObject *rc_route_asgi(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames) {
        if (nargs == 1 && kwnames == NULL)
            return rc_adapt_fast[0](self, args[0]);
        return rc_adapt_call(0, self, args, nargs, kwnames);
    }

    static PyObject *rc_route_wsgi(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames) {
        if (nargs == 1 && kwnames == NULL)
            return rc_adapt_fast[1](self, args[0]);
        return rc_adapt_call(1, self, args, nargs, kwnames);
    }

    /* Put rc_route_asgi and rc_route_wsgi in type tp in place of its methods route_asgi and
       route_wsgi (kept as the general readings), with their signatures and docs. */
    static int rc_install_adapters(PyObject *tp, void *asgi, void *wsgi) {
        static const char *names[2] = {"route_asgi", "route_wsgi"};
        static const char *docs[2] = {
            "route_asgi($self, scope)\\n--\\n\\n"
            "routecore._adapters.route_asgi, natively for a dict scope (_match_c_adapt.pxi).",
            "route_wsgi($self, environ)\\n--\\n\\n"
            "routecore._adapters.route_wsgi, natively for a dict environ (_match_c_adapt.pxi)."};
        PyObject *dict = ((PyTypeObject *)tp)->tp_dict, *d;
        int k, r;
        rc_adapt_fast[0] = (rc_entry1)asgi;
        rc_adapt_fast[1] = (rc_entry1)wsgi;
        for (k = 0; k < 2; k++) {
            rc_adapt_general[k] = PyDict_GetItemString(dict, names[k]);
            if (rc_adapt_general[k] == NULL) {
                PyErr_Format(PyExc_RuntimeError, "Table has no %s", names[k]);
                return -1;
            }
            Py_INCREF(rc_adapt_general[k]);
            rc_adapt_defs[k].ml_name = names[k];
            rc_adapt_defs[k].ml_meth = (PyCFunction)(void (*)(void))(k ? rc_route_wsgi : rc_route_asgi);
            rc_adapt_defs[k].ml_flags = METH_FASTCALL | METH_KEYWORDS;
            rc_adapt_defs[k].ml_doc = docs[k];
            d = PyDescr_NewMethod((PyTypeObject *)tp, &rc_adapt_defs[k]);
            if (d == NULL)
                return -1;
            r = PyDict_SetItemString(dict, names[k], d);
            Py_DECREF(d);
            if (r < 0)
                return -1;
        }
        PyType_Modified((PyTypeObject *)tp);
        return 0;
    }
    """
    int _install_adapters "rc_install_adapters"(PyObject* tp, void* asgi, void* wsgi) except -1


cdef object _asgi_entry(object self, object scope):
    """route_asgi(scope) (self: a Table, checked by the method's descriptor)."""
    if type(scope) is not dict:
        return _route_asgi(self, scope)
    return _route_scope(<Table>self, <dict>scope)


cdef object _wsgi_entry(object self, object environ):
    """route_wsgi(environ) (self: a Table, checked by the method's descriptor)."""
    if type(environ) is not dict:
        return _route_wsgi(self, environ)
    return _route_environ(<Table>self, <dict>environ)


_install_adapters(<PyObject*>Table, <void*>_asgi_entry, <void*>_wsgi_entry)
