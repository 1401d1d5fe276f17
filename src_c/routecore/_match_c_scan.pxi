# The native twin's pass over a request target (routecore._match_c), included by _match_c.pyx:
# where the path ends, the hash of the path and of each of its prefixes at a "/" boundary that
# some PathPrefix rule's length has (Req.bhash), in one forward pass.
#
# Invariants: the hashes are _match_c_hash.pxi's (_hash_prefix), which the path maps were built
# with; the common origin-form target is read in place (rc_scan_path: no copy, the bytes looked
# at 32 at a time, a target under 32 bytes in one step with no loop set-up; the hash's words
# are folded once each, when a boundary or the path's end first needs them, so a boundary's
# hash starts from the words already folded); anything _scan declines is split and
# normalised by routecore._paths first, then hashed by _hash_path, so both give the same hashes
# for the same path.

cdef extern from *:
    """
    /* Remember the hash h of the path's prefix of length len (a "/" boundary some rule has):
       at most 64, then *overflow (the prefixes are hashed on demand). */
    static inline void rc_push_boundary(Py_ssize_t *blen, uint64_t *bhash, Py_ssize_t *nb,
                                        int *overflow, Py_ssize_t len, uint64_t h) {
        if (*nb < 64) {
            blen[*nb] = len;
            bhash[*nb] = h;
            (*nb)++;
        } else {
            *overflow = 1;
        }
    }

    /* The hash of d[:i] (_hash_prefix), from *h, the hash of the words of d[:*w] (*w a
       multiple of 8, *w <= i <= n; n: the string's length, no byte past it is read): the
       words up to i are folded into *h as they are passed (each word once per pass). */
    static inline uint64_t rc_fwd(uint64_t *h, Py_ssize_t *w, const unsigned char *d,
                                  Py_ssize_t i, Py_ssize_t n) {
        uint64_t g = *h;
        Py_ssize_t k = *w, r;
        for (; i - k >= 16; k += 16)
            g = rc_step(rc_step(g, rc_load64(d + k)), rc_load64(d + k + 8));
        if (i - k >= 8) {
            g = rc_step(g, rc_load64(d + k));
            k += 8;
        }
        *h = g;
        *w = k;
        r = i - k;
        if (r)
            g = rc_step(g, rc_loadpart(d + k, r, n - k, k));
        return rc_fin(g, i);
    }

    /* rc_path_masks of p[0:min(avail, 32)] as 32-bit masks (before: as rc_path_masks). */
    static inline void rc_path_masks32n(const unsigned char *p, Py_ssize_t avail, Py_ssize_t before,
                                        uint32_t *slash, uint32_t *qmark, uint32_t *other) {
        unsigned s0, q0, o0, s1 = 0, q1 = 0, o1 = 0;
        if (avail >= 16) {
            rc_path_masks16(p, &s0, &q0, &o0);
            if (avail > 16)
                rc_path_masks(p + 16, avail - 16, before + 16, &s1, &q1, &o1);
        } else {
            rc_path_masks(p, avail, before, &s0, &q0, &o0);
        }
        *slash = s0 | ((uint32_t)s1 << 16);
        *qmark = q0 | ((uint32_t)q1 << 16);
        *other = o0 | ((uint32_t)o1 << 16);
    }

    /* The pass over the origin-form target d[0:n] (d[0] == "/"), 32 bytes at a time (a short
       target: one step of one or two 16-byte loads): the "/" boundaries some rule's length has
       with their hashes (blen, bhash, *nb, *overflow), the path's hash (*full) and where the
       query starts (*qpos: the "?", or -1). Returns 0 when the target needs the general path
       (a fragment; with normalize, escapes or dot-segments; with merge, "//"). The hash words
       are folded only when a boundary or the end asks for them (rc_fwd). */
    static int rc_scan_path(const unsigned char *d, Py_ssize_t n, Py_ssize_t last,
                            const unsigned char *lens, int merge, int normalize,
                            Py_ssize_t *blen, uint64_t *bhash, Py_ssize_t *nb, int *overflow,
                            uint64_t *full, Py_ssize_t *qpos) {
        uint64_t h = RC_SEED;
        Py_ssize_t w = 0, base, q = -1, i, plen;
        uint32_t slash, qmark = 0, other = 0, carry = 0, bits, cut;
        int rare;
        *nb = 0;
        *overflow = 0;
        for (base = 0; base < n; base += 32) {
            if (n - base >= 32) {  /* a whole chunk: the detail only when a rare byte is there */
                rc_path_masks32(d + base, &slash, &rare);
                if (rare)
                    rc_path_masks32n(d + base, 32, base, &slash, &qmark, &other);
            } else {
                rc_path_masks32n(d + base, n - base, base, &slash, &qmark, &other);
            }
            if (qmark | other) {  /* the query, or one of the rare "#", "%", backslash, "." */
                cut = qmark ? (qmark & (0u - qmark)) - 1 : ~(uint32_t)0;
                slash &= cut;  /* the path ends at the first "?" */
                for (bits = other & cut; bits; bits &= bits - 1) {
                    i = base + rc_ctz(bits);
                    if (d[i] == '#')
                        return 0;
                    /* "%", a backslash, "/.": normalised by the general path */
                    if (normalize && (d[i] != '.' || d[i - 1] == '/'))
                        return 0;
                }
                if (qmark) {
                    q = base + rc_ctz(qmark);
                    for (bits = other & ~cut; bits; bits &= bits - 1)  /* a fragment after it */
                        if (d[base + rc_ctz(bits)] == '#')
                            return 0;
                }
            }
            if (merge && (slash & ((slash << 1) | carry)))  /* "//": merged, the general path */
                return 0;
            carry = slash >> 31;
            for (; slash && base <= last; slash &= slash - 1) {
                i = base + rc_ctz(slash);
                if (i > last)
                    break;
                if (lens[i])
                    rc_push_boundary(blen, bhash, nb, overflow, i, rc_fwd(&h, &w, d, i, n));
            }
            if (q >= 0)
                break;
            qmark = other = 0;
        }
        plen = q < 0 ? n : q;
        *full = rc_fwd(&h, &w, d, plen, n);
        if (plen <= last && lens[plen])
            rc_push_boundary(blen, bhash, nb, overflow, plen, *full);
        if (q >= 0 && base + 32 < n && memchr(d + base + 32, '#', (size_t)(n - base - 32)) != NULL)
            return 0;
        *qpos = q;
        return 1;
    }
    """
    void _push_boundary_c "rc_push_boundary"(Py_ssize_t* blen, uint64_t* bhash, Py_ssize_t* nb,
                                              bint* overflow, Py_ssize_t length, uint64_t h) nogil
    bint _scan_path "rc_scan_path"(const unsigned char* d, Py_ssize_t n, Py_ssize_t last,
                                   const unsigned char* lens, bint merge, bint normalize,
                                   Py_ssize_t* blen, uint64_t* bhash, Py_ssize_t* nb,
                                   bint* overflow, uint64_t* full, Py_ssize_t* qpos) nogil


cdef inline void _push_boundary(Req* req, Py_ssize_t length, uint64_t h) noexcept:
    """Remember the hash of the path's prefix of ``length`` (a "/" boundary some rule has)."""
    _push_boundary_c(req.blen, req.bhash, &req.nb, &req.overflow, length, h)


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
    target finds the query, hashes the path and its "/" boundaries (rc_scan_path). False when
    the target needs the general path (not origin-form, a fragment, dot-segments or escapes to
    normalise, wider characters)."""
    cdef Py_ssize_t n = len(target)
    cdef const unsigned char* data
    if n == 0 or PyUnicode_KIND(target) != PyUnicode_1BYTE_KIND:
        return False
    data = <const unsigned char*>PyUnicode_DATA(target)
    if data[0] != 47:  # "/"
        return False
    return _scan_path(data, n, self.max_plen_all,
                      <const unsigned char*>PyByteArray_AS_STRING(self.plens_all),
                      self.merge, self.normalize, req.blen, req.bhash, &req.nb, &req.overflow,
                      &req.full_hash, qpos)
