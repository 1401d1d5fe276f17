# The native twin's gRPC check of a request (routecore._match_c), included by
# _match_c_headers.pxi: its content-type starts with "application/grpc", as routecore._match_py
# reads it (repeated headers joined with ",", bytes as latin-1).
#
# Invariants: headers already read (Req.hv), a WSGI environ and any form that is not a list,
# tuple or exact dict (a one-shot iterable: read once, kept) go through _hvals; the others are
# read for the content-type alone (slot 2) and nothing is kept; a value is tested as it came.

cdef bint _grpc_request(Table self, Req* req) except -1:
    """The request's content-type is application/grpc...: from the headers already read
    (Req.hv), else read alone as _host_only reads the Host (_grpc_headers)."""
    if not _maybe_headers(req.headers):
        return False
    if req.hv != NULL or req.wsgi or not (type(<object>req.headers) is list
                                          or type(<object>req.headers) is tuple
                                          or type(<object>req.headers) is dict):
        return _grpc_type(_hvals(self, req)[2])  # (a one-shot iterable is read once, and kept)
    return _grpc_headers(self, <object>req.headers)


cdef int _grpc_headers(Table self, object headers) except -1:
    """_grpc_type of the content-type (slot 2) of a list, tuple or exact dict of headers, read
    alone and not kept: the gRPC check of a request no header condition read (most 404s)
    needs no other header. A walk that stops early is read again from the start by _collect."""
    cdef PyObject* three[3]
    cdef int r
    three[0] = three[1] = three[2] = NULL
    if self.names != NULL and _walk_all_ct(<const rc_names*>self.names, <PyObject*>headers,
                                           three) == 1:
        r = _grpc_type(three[2])  # (the walk fills slot 2 alone)
        Py_XDECREF(three[2])
        return r
    try:
        _release_host2(three)
        Py_XDECREF(three[2])
        three[2] = NULL
        _collect(self, headers, three, 3, False)
        return _grpc_type(three[2])
    finally:
        Py_XDECREF(three[0])
        Py_XDECREF(three[1])
        Py_XDECREF(three[2])


cdef inline int _grpc_type(PyObject* v) except -1:
    """The content-type value v (NULL: absent; a str, or an exact bytes not decoded: latin-1
    maps each byte to the code point of its value) starts with "application/grpc": one compare
    of 16 bytes for an exact bytes or a 1-byte str, str.startswith for any other."""
    if v == NULL:
        return 0
    if PyBytes_CheckExact(<object>v):
        return PyBytes_GET_SIZE(<object>v) >= 16 and memcmp(PyBytes_AS_STRING(<object>v),
                                                            b"application/grpc", 16) == 0
    if PyUnicode_CheckExact(<object>v) and PyUnicode_KIND(<object>v) == PyUnicode_1BYTE_KIND:
        return PyUnicode_GET_LENGTH(<object>v) >= 16 and memcmp(PyUnicode_DATA(<object>v),
                                                                b"application/grpc", 16) == 0
    return (<str>v).startswith("application/grpc")
