# The native twin's pass over a request target (routecore._match_c), included by _match_c.pyx:
# where the path ends, the hash of the path and of each of its prefixes at a "/" boundary that
# some PathPrefix rule's length has (Req.bhash), in one forward pass.
#
# Invariants: the hashes are _match_c_hash.pxi's (_hash_prefix), which the path maps were built
# with; the common origin-form target is read in place (_scan: no copy, the bytes looked at 16
# at a time); anything _scan declines is split and normalised by routecore._paths first, then
# hashed by _hash_path, so both give the same hashes for the same path.


cdef inline void _push_boundary(Req* req, Py_ssize_t length, uint64_t h) noexcept:
    """Remember the hash of the path's prefix of ``length`` (a "/" boundary some rule has)."""
    if req.nb < 64:
        req.blen[req.nb] = length
        req.bhash[req.nb] = h
        req.nb += 1
    else:
        req.overflow = True


cdef void _hash_path(Table self, str path, Req* req) noexcept:
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


cdef bint _scan(Table self, str target, Py_ssize_t* qpos, Req* req) noexcept:
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
