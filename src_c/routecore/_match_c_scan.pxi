# The native twin's pass over a request target (routecore._match_c), included by _match_c.pyx:
# where the path ends, the hash of the path and of each of its prefixes at a "/" boundary that
# some PathPrefix rule's length has (Req.bhash), in one forward pass.
#
# Invariants: the hashes are _match_c_hash.pxi's (_hash_prefix), which the path maps were built
# with; the common origin-form target is read in place (rc_scan_path: no copy, the bytes looked
# at 16 or 32 at a time, each block's words folded into the hash as the block is left, so a
# boundary's hash starts from the state at its block; a target under 32 bytes in one step
# of one or two 16-byte loads, without the block loops); anything _scan declines is split and
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

    /* The hash of d[:i] (_hash_prefix) from h, the hash of the words of d[:base] (base a
       multiple of 8, base <= i <= n; n: the string's length, no byte past it is read). */
    static inline uint64_t rc_hash_from(uint64_t h, const unsigned char *d, Py_ssize_t base,
                                        Py_ssize_t i, Py_ssize_t n) {
        Py_ssize_t r;
        for (; i - base >= 8; base += 8)
            h = rc_step(h, rc_load64(d + base));
        r = i - base;
        if (r)
            h = rc_step(h, rc_loadpart(d + base, r, n - base, base));
        return rc_fin(h, i);
    }

    typedef struct {
        const unsigned char *d;
        Py_ssize_t n;
        Py_ssize_t last;            /* the longest prefix length some rule has */
        const unsigned char *lens;  /* lens[L]: some rule has a prefix of length L */
        int merge, normalize;
        Py_ssize_t *blen, *nb;
        uint64_t *bhash;
        int *overflow;
        unsigned carry;             /* the previous block ended with a "/" */
    } rc_pathscan;

    /* Push the boundaries some rule's length has among the "/" at base + the bits of slash
       (h: the hash of the words before base). */
    static inline void rc_path_boundaries(rc_pathscan *s, Py_ssize_t base, uint64_t h,
                                          uint32_t slash) {
        Py_ssize_t i;
        for (; slash; slash &= slash - 1) {
            i = base + rc_ctz(slash);
            if (i > s->last)
                break;
            if (s->lens[i])
                rc_push_boundary(s->blen, s->bhash, s->nb, s->overflow, i,
                                 rc_hash_from(h, s->d, base, i, s->n));
        }
    }

    /* rc_path_masks of p[0:min(avail, 32)] as 32-bit masks (before: as rc_path_masks). */
    static inline void rc_path_masks32n(const unsigned char *p, Py_ssize_t avail, Py_ssize_t before,
                                        uint32_t *slash, unsigned *qmark, unsigned *other) {
        unsigned s0, q0, o0, s1 = 0, q1 = 0, o1 = 0;
        if (avail >= 16) {
            rc_path_masks16(p, &s0, &q0, &o0);
            if (avail > 16)
                rc_path_masks(p + 16, avail - 16, before + 16, &s1, &q1, &o1);
        } else {
            rc_path_masks(p, avail, before, &s0, &q0, &o0);
        }
        *slash = s0 | (s1 << 16);
        *qmark = q0 | (q1 << 16);
        *other = o0 | (o1 << 16);
    }

    /* The block of 16 bytes at base by its masks (rc_path_masks; or of a whole target under 32
       bytes, base 0, its masks 32 bits wide), h: the hash of the words before base. -1: the
       target needs the general path; 1: the path ends at the "?" at *q; 0: go on. */
    static inline int rc_path_block(rc_pathscan *s, Py_ssize_t base, uint64_t h, unsigned slash,
                                    unsigned qmark, unsigned other, Py_ssize_t *q) {
        unsigned bits;
        Py_ssize_t i;
        if (qmark | other) {  /* the query, or one of the rare "#", "%", backslash, "." */
            if (qmark) {  /* the path ends at the first "?" */
                bits = (qmark & (0u - qmark)) - 1;
                slash &= bits;
                other &= bits;
            }
            for (bits = other; bits; bits &= bits - 1) {
                i = base + rc_ctz(bits);
                if (s->d[i] == '#')
                    return -1;
                /* "%", a backslash, "/.": normalised by the general path */
                if (s->normalize && (s->d[i] != '.' || s->d[i - 1] == '/'))
                    return -1;
            }
        }
        if (s->merge && (slash & ((slash << 1) | s->carry)))  /* "//": merged, the general path */
            return -1;
        s->carry = slash >> 15;
        if (base <= s->last)
            rc_path_boundaries(s, base, h, slash);
        if (qmark) {
            *q = base + rc_ctz(qmark);
            return 1;
        }
        return 0;
    }

    /* The pass over the origin-form target d[0:n] (d[0] == "/"): the "/" boundaries some rule's
       length has with their hashes (blen, bhash, *nb, *overflow), the path's hash (*full) and
       where the query starts (*qpos: the "?", or -1). Returns 0 when the target needs the
       general path (a fragment; with normalize, escapes or dot-segments; with merge, "//"). */
    static RC_NOINLINE int rc_scan_path(const unsigned char *d, Py_ssize_t n, Py_ssize_t last,
                            const unsigned char *lens, int merge, int normalize,
                            Py_ssize_t *blen, uint64_t *bhash, Py_ssize_t *nb, int *overflow,
                            uint64_t *full, Py_ssize_t *qpos) {
        rc_pathscan s;
        uint64_t h = RC_SEED;
        Py_ssize_t base = 0, q = -1, plen;
        unsigned slash, qmark, other;
        int r = 0;
        s.d = d; s.n = n; s.last = last; s.lens = lens; s.merge = merge; s.normalize = normalize;
        s.blen = blen; s.nb = nb; s.bhash = bhash; s.overflow = overflow; s.carry = 0;
        *nb = 0;
        *overflow = 0;
        uint32_t slash32, bits;
        int rare, k;
        if (n < 32) {  /* the common short target: one step, masks 32 bits wide, no loops */
            rc_path_masks32n(d, n, 0, &slash32, &qmark, &other);
            if (qmark)  /* a fragment after the query, from the masks (no memchr) */
                for (bits = other & (0u - (qmark & (0u - qmark))); bits; bits &= bits - 1)
                    if (d[rc_ctz(bits)] == '#')
                        return 0;
            if (rc_path_block(&s, 0, h, slash32, qmark, other, &q) < 0)
                return 0;
            plen = q < 0 ? n : q;
            *full = rc_hash_from(h, d, 0, plen, n);
            if (plen <= last && lens[plen])
                rc_push_boundary(blen, bhash, nb, overflow, plen, *full);
            *qpos = q;
            return 1;
        }
        while (n - base >= 32) {  /* 32 bytes at a time while no rare byte is met */
            rc_path_masks32(d + base, &slash32, &rare);
            if (rare) {  /* each block the general way */
                for (k = 0; k < 2; k++, base += 16) {
                    rc_path_masks16(d + base, &slash, &qmark, &other);
                    r = rc_path_block(&s, base, h, slash, qmark, other, &q);
                    if (r)
                        goto done;
                    h = rc_step(rc_step(h, rc_load64(d + base)), rc_load64(d + base + 8));
                }
                continue;
            }
            if (slash32) {
                if (merge && (slash32 & ((slash32 << 1) | s.carry)))  /* "//" */
                    return 0;
                s.carry = slash32 >> 31;
                if (base <= last)
                    rc_path_boundaries(&s, base, h, slash32);
            } else {
                s.carry = 0;
            }
            h = rc_step(rc_step(h, rc_load64(d + base)), rc_load64(d + base + 8));
            h = rc_step(rc_step(h, rc_load64(d + base + 16)), rc_load64(d + base + 24));
            base += 32;
        }
        for (; n - base >= 16; base += 16) {  /* a last whole block */
            rc_path_masks16(d + base, &slash, &qmark, &other);
            if (slash | qmark | other) {
                r = rc_path_block(&s, base, h, slash, qmark, other, &q);
                if (r)
                    break;
            } else {
                s.carry = 0;
            }
            h = rc_step(rc_step(h, rc_load64(d + base)), rc_load64(d + base + 8));
        }
    done:
        if (r < 0)
            return 0;
        if (r == 0 && base < n) {  /* the last, partial block */
            rc_path_masks(d + base, n - base, base, &slash, &qmark, &other);
            if (rc_path_block(&s, base, h, slash, qmark, other, &q) < 0)
                return 0;
        }
        plen = q < 0 ? n : q;
        *full = rc_hash_from(h, d, base, plen, n);
        if (plen <= last && lens[plen])
            rc_push_boundary(blen, bhash, nb, overflow, plen, *full);
        if (q >= 0 && memchr(d + q + 1, '#', (size_t)(n - q - 1)) != NULL)
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
