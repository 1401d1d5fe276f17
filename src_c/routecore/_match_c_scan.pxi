# The native twin's pass over a request target (routecore._match_c), included by _match_c.pyx:
# where the path ends, its "/" boundaries (Req.bmask, Req.blen), and the hashes the path maps
# are probed with, made only when a probe needs them.
#
# Invariants:
# - the hashes are _match_c_hash.pxi's (_hash_prefix), which the path maps were built with;
# - Req.bmask bit L (L < 64): the path has a "/" at L, or ends there (L == plen); such a prefix
#   is hashed by Table._group (_prefix_hash) only when the group has a PathPrefix of length L.
#   Boundaries of 64 or more that some rule's length has are in Req.blen with their hash
#   (Req.bhash), made by the pass. Req.full_hash 0: the path's hash is not made yet (a hash that
#   is 0 is made again at each use: still right);
# - the common origin-form target is read in place, never copied: under 64 characters
#   (rc_scan_short; a compact str, whose object header puts at least RC_BEFORE readable bytes
#   before its first character) as two 64-bit masks, its "/" and its rare bytes ("?", "#",
#   "%", backslash, "."), from two or four 16-byte loads that end at the target's end (no byte
#   past it is read), and nothing hashed; longer (rc_scan_path) 16 or 32 bytes at a time, each
#   block's words folded into the path's hash as the block is left, so a long boundary's hash
#   starts from the state at its block; anything both decline is split and normalised by
#   routecore._paths first, then read by _hash_path, so all three give the same boundaries
#   and hashes for the same path;
# - route_asgi's raw_path is read as bytes where it lies (_scan_apart: an exact bytes has
#   RC_BEFORE readable bytes of object header before its first byte, as a compact str does;
#   its bytes are its latin-1 text's characters, one byte each): the same boundaries and hashes
#   as its decoded text; a pass that would need the text (not read whole, a "?", the boundaries
#   past 64 overflowing) declines it.
# - _scan and the steps of a short target's pass (rc_scan_short, rc_masks64, rc_masks16) are
#   always inlined into their callers (no call for the common target: tests/test_native_group.py
#   checks that no out-of-line copy is built).

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define RC_ALWAYS __attribute__((always_inline))
    #else
    #define RC_ALWAYS
    #endif
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
        uint64_t *bmask;            /* the boundaries under 64 (Req.bmask) */
        Py_ssize_t upto;            /* the last boundary looked at: last, at least 63 */
        unsigned carry;             /* the previous block ended with a "/" */
    } rc_pathscan;

    /* The boundaries among the "/" at base + the bits of slash: under 64 in *bmask, the longer
       ones some rule's length has pushed with their hash (h: the hash of the words before
       base). */
    static inline void rc_path_boundaries(rc_pathscan *s, Py_ssize_t base, uint64_t h,
                                          uint32_t slash) {
        Py_ssize_t i;
        for (; slash; slash &= slash - 1) {
            i = base + rc_ctz(slash);
            if (i > s->upto)
                break;
            if (i < 64)
                *s->bmask |= ((uint64_t)1) << i;
            else if (s->lens[i])
                rc_push_boundary(s->blen, s->bhash, s->nb, s->overflow, i,
                                 rc_hash_from(h, s->d, base, i, s->n));
        }
    }

    /* The block of 16 bytes at base by its masks (rc_path_masks), h: the hash of the words
       before base. -1: the target needs the general path; 1: the path ends at the "?" at *q;
       0: go on. */
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
        if (base <= s->upto)
            rc_path_boundaries(s, base, h, slash);
        if (qmark) {
            *q = base + rc_ctz(qmark);
            return 1;
        }
        return 0;
    }

    /* The pass over the origin-form target d[0:n] (d[0] == "/"): the path's "/" boundaries
       and its end (under 64 in *bmask; longer ones some rule's length has with their hashes
       in blen, bhash, *nb, *overflow), the path's hash (*full) and where the query starts
       (*qpos: the "?", or -1). Returns 0 when the target needs the general path (a fragment;
       with normalize, escapes or dot-segments; with merge, "//"). */
    static RC_NOINLINE int rc_scan_path(const unsigned char *d, Py_ssize_t n, Py_ssize_t last,
                            const unsigned char *lens, int merge, int normalize,
                            Py_ssize_t *blen, uint64_t *bhash, Py_ssize_t *nb, int *overflow,
                            uint64_t *bmask, uint64_t *full, Py_ssize_t *qpos) {
        rc_pathscan s;
        uint64_t h = RC_SEED;
        Py_ssize_t base = 0, q = -1, plen;
        unsigned slash, qmark, other;
        int r = 0;
        s.d = d; s.n = n; s.last = last; s.lens = lens; s.merge = merge; s.normalize = normalize;
        s.blen = blen; s.nb = nb; s.bhash = bhash; s.overflow = overflow; s.carry = 0;
        s.bmask = bmask; s.upto = last > 63 ? last : 63;
        *nb = 0;
        *overflow = 0;
        *bmask = 0;
        uint32_t slash32;
        int rare, k;
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
                if (base <= s.upto)
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
        if (plen < 64)
            *bmask |= ((uint64_t)1) << plen;
        else if (plen <= last && lens[plen])
            rc_push_boundary(blen, bhash, nb, overflow, plen, *full);
        if (q >= 0 && memchr(d + q + 1, '#', (size_t)(n - q - 1)) != NULL)
            return 0;
        *qpos = q;
        return 1;
    }

    /* The bytes a load may read before a compact str's first character: its object header. */
    #define RC_BEFORE 32
    typedef char rc_header_holds_before[sizeof(PyASCIIObject) >= RC_BEFORE ? 1 : -1];

    /* The characters of s when it is a compact str of one byte per character (RC_BEFORE
       readable bytes before them), else NULL. */
    static inline const unsigned char *rc_compact_narrow(PyObject *s) {
        if (!PyUnicode_IS_COMPACT(s) || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND)
            return NULL;
        return (const unsigned char *)PyUnicode_DATA(s);
    }

    /* The hash of d[:p] (_hash_prefix), RC_BEFORE bytes readable before d: the whole words,
       then the p % 8 bytes left as the word that ends at d + p, shifted down. */
    static inline uint64_t rc_hash_head(const unsigned char *d, Py_ssize_t p) {
        uint64_t h = RC_SEED;
        Py_ssize_t w, r = p & 7;
        for (w = 0; w + 8 <= p; w += 8)
            h = rc_step(h, rc_load64(d + w));
        if (r)
            h = rc_step(h, rc_load64(d + p - 8) >> (8 * (8 - r)));
        return rc_fin(h, p);
    }

    static inline int rc_ctz64(uint64_t m) { return __builtin_ctzll(m); }
    static inline int rc_top64(uint64_t m) { return 63 - __builtin_clzll(m); }

    #if defined(__SSE2__)
    /* Bytes of the 16 at p by bit: "/" in *slash, any of "?", "#", "%", backslash, "." in *rare. */
    static inline RC_ALWAYS void rc_masks16(const unsigned char *p, unsigned *slash, unsigned *rare) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i r = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')), _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('%')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\\\'))));
        r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
        *slash = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
        *rare = (unsigned)_mm_movemask_epi8(r);
    }
    #endif

    /* rc_masks16 of d[0:n] as 64-bit masks, 0 < n < 64, RC_BEFORE bytes readable before d:
       n <= 16, the 16 bytes that end at d + n; n <= 32, those and d[0:16]; else d[0:32] and the
       32 that end at d + n. Overlapping loads give the same bits for the same bytes. */
    static inline RC_ALWAYS void rc_masks64(const unsigned char *d, Py_ssize_t n, uint64_t *slash,
                                  uint64_t *rare) {
    #if defined(__SSE2__)
        unsigned s0, r0, s1, r1, s2, r2, s3, r3;
        if (n <= 16) {
            rc_masks16(d + n - 16, &s0, &r0);
            *slash = s0 >> (16 - n);
            *rare = r0 >> (16 - n);
        } else if (n <= 32) {
            rc_masks16(d, &s0, &r0);
            rc_masks16(d + n - 16, &s1, &r1);
            *slash = s0 | ((uint64_t)s1 << (n - 16));
            *rare = r0 | ((uint64_t)r1 << (n - 16));
        } else {
            rc_masks16(d, &s0, &r0);
            rc_masks16(d + 16, &s1, &r1);
            rc_masks16(d + n - 32, &s2, &r2);
            rc_masks16(d + n - 16, &s3, &r3);
            *slash = (s0 | (s1 << 16)) | ((uint64_t)(s2 | (s3 << 16)) << (n - 32));
            *rare = (r0 | (r1 << 16)) | ((uint64_t)(r2 | (r3 << 16)) << (n - 32));
        }
    #else
        Py_ssize_t k;
        unsigned char c;
        *slash = *rare = 0;
        for (k = 0; k < n; k++) {
            c = d[k];
            if (c == '/')
                *slash |= (uint64_t)1 << k;
            else if (c == '?' || c == '#' || c == '%' || c == '\\\\' || c == '.')
                *rare |= (uint64_t)1 << k;
        }
    #endif
    }

    /* rc_scan_path for a target of fewer than 64 bytes (0 < n < 64, d[0] == "/", RC_BEFORE
       bytes readable before d): every boundary is under 64, so *bmask holds them all and
       nothing is hashed (*full = 0: not made yet). The rare bytes are visited in order up to
       the first "?"; past it only a "#" matters (a fragment: the general path). Always inline
       (two callers, _scan and _scan_apart: as a call of its own it costs route() ~28). */
    static inline RC_ALWAYS int rc_scan_short(const unsigned char *d, Py_ssize_t n, int merge,
                                    int normalize, uint64_t *bmask, Py_ssize_t *nb,
                                    uint64_t *full, Py_ssize_t *qpos) {
        uint64_t slash, rare;
        Py_ssize_t i, plen = n;
        unsigned char c;
        rc_masks64(d, n, &slash, &rare);
        for (; rare; rare &= rare - 1) {
            i = rc_ctz64(rare);
            c = d[i];
            if (c == '?') {
                plen = i;
                for (rare &= rare - 1; rare; rare &= rare - 1)
                    if (d[rc_ctz64(rare)] == '#')
                        return 0;
                slash &= (((uint64_t)1) << i) - 1;
                break;
            }
            if (c == '#')
                return 0;
            /* "%", a backslash, "/.": normalised by the general path */
            if (normalize && (c != '.' || d[i - 1] == '/'))
                return 0;
        }
        if (merge && (slash & (slash << 1)))  /* "//": merged, the general path */
            return 0;
        *bmask = slash | (((uint64_t)1) << plen);
        *nb = 0;
        *full = 0;
        *qpos = plen < n ? plen : -1;
        return 1;
    }

    /* _scan (a Cython cdef function below) always inlined into its callers (_decide_c's
       common request: no call, no saved registers of its own), given on a prototype under the
       C name Cython makes for it, as _match_c_host.pxi does for _host_lookup */
    #if defined(__GNUC__) || defined(__clang__)
    struct __pyx_obj_9routecore_8_match_c_Table;
    struct __pyx_t_9routecore_8_match_c_Req;
    static inline __attribute__((always_inline)) int __pyx_f_9routecore_8_match_c__scan(
        struct __pyx_obj_9routecore_8_match_c_Table *, PyObject *, Py_ssize_t *,
        struct __pyx_t_9routecore_8_match_c_Req *);
    #endif
    """
    void _push_boundary_c "rc_push_boundary"(Py_ssize_t* blen, uint64_t* bhash, Py_ssize_t* nb,
                                              bint* overflow, Py_ssize_t length, uint64_t h) nogil
    uint64_t _hash_head "rc_hash_head"(const unsigned char* d, Py_ssize_t p) nogil
    const unsigned char* _compact_narrow "rc_compact_narrow"(PyObject* s) nogil
    bint _scan_path "rc_scan_path"(const unsigned char* d, Py_ssize_t n, Py_ssize_t last,
                                   const unsigned char* lens, bint merge, bint normalize,
                                   Py_ssize_t* blen, uint64_t* bhash, Py_ssize_t* nb,
                                   bint* overflow, uint64_t* bmask, uint64_t* full,
                                   Py_ssize_t* qpos) nogil
    bint _scan_short "rc_scan_short"(const unsigned char* d, Py_ssize_t n, bint merge,
                                     bint normalize, uint64_t* bmask, Py_ssize_t* nb,
                                     uint64_t* full, Py_ssize_t* qpos) nogil
    int _top64 "rc_top64"(uint64_t m) nogil
    bint _compact "PyUnicode_IS_COMPACT"(PyObject* s) nogil
    int _kind "PyUnicode_KIND"(PyObject* s) nogil
    void* _udata "PyUnicode_DATA"(PyObject* s) nogil
    Py_ssize_t _ulen "PyUnicode_GET_LENGTH"(PyObject* s) nogil
    char* _bytearray_data "PyByteArray_AS_STRING"(PyObject* b) nogil


cdef inline void _push_boundary(Req* req, Py_ssize_t length, uint64_t h) noexcept:
    """Remember the hash of the path's prefix of ``length`` (a "/" boundary some rule has)."""
    _push_boundary_c(req.blen, req.bhash, &req.nb, &req.overflow, length, h)


cdef void _hash_path(Table self, str path, Req* req) noexcept:
    """The path's full hash and its "/" boundaries (and its end): under 64 in req.bmask, the
    longer ones that have a length some PathPrefix rule has with their hash (the general
    path: _scan does this for the common target)."""
    cdef Py_ssize_t i, n = len(path), last = self.max_plen_all
    cdef Py_ssize_t upto = min(n, max(last + 1, 64))
    cdef bytearray lens = self.plens_all
    cdef Fwd f
    cdef bint narrow = PyUnicode_KIND(path) == PyUnicode_1BYTE_KIND
    req.pdata = _compact_narrow(<PyObject*>path)
    f.data = <const unsigned char*>PyUnicode_DATA(path)
    f.avail = n
    f.h = HASH_SEED
    f.words = 0
    req.nb = 0
    req.overflow = False
    req.bmask = 0
    for i in range(upto):
        if path[i] == u'/':
            if i < 64:
                req.bmask |= (<uint64_t>1) << i
            elif lens[i]:
                _push_boundary(req, i, _fwd_at(&f, i) if narrow else _hash_prefix(path, i))
    req.full_hash = _fwd_at(&f, n) if narrow else _hash_prefix(path, n)
    if n < 64:
        req.bmask |= (<uint64_t>1) << n
    elif n <= last and lens[n]:
        _push_boundary(req, n, req.full_hash)


cdef inline uint64_t _prefix_hash(Req* req, const unsigned char* d, Py_ssize_t p) noexcept:
    """The hash of req.path[:p] (d: _compact_narrow of the path), for a boundary of req.bmask
    or the path itself (req.full_hash 0), when a probe needs it."""
    if d != NULL:
        return _hash_head(d, p)
    return _hash_prefix(<str>req.path, p)


cdef inline MapSlot* _path_probe(PyObject* m, Req* req, const unsigned char* d, Py_ssize_t p,
                                 uint64_t h, int gi) noexcept:
    """The slot of (gi, req.path[:p]) in the path map m, whose hash is h: probed in place
    (_probe: no call, no reference) when d (_compact_narrow of the path) is not NULL."""
    if d != NULL:
        return _probe((<_StrMap>m).slots, (<_StrMap>m).mask, d, p, h, gi)
    return (<_StrMap>m).get_at(<str>req.path, 0, p, h, gi)


cdef bint _scan(Table self, str target, Py_ssize_t* qpos, Req* req) noexcept:
    """The fast path for the common target: one pass over a 1-byte-per-character origin-form
    target finds the query and the path's "/" boundaries (rc_scan_short under 64 characters,
    else rc_scan_path). False when the target needs the general path (not origin-form, a
    fragment, dot-segments or escapes to normalise, wider characters). The target is read
    through a borrowed pointer (no reference taken)."""
    cdef PyObject* t = <PyObject*>target
    cdef Py_ssize_t n = _ulen(t)
    cdef const unsigned char* data = _compact_narrow(t)
    req.pdata = data  # (for Table._group: set whatever the answer, as the boundaries are)
    if n == 0:
        return False
    req.overflow = False
    if data != NULL and n < 64:
        return data[0] == 47 and _scan_short(data, n, self.merge, self.normalize, &req.bmask,
                                             &req.nb, &req.full_hash, qpos)
    if _kind(t) != PyUnicode_1BYTE_KIND:
        return False
    data = <const unsigned char*>_udata(t)
    if data[0] != 47:  # "/"
        return False
    return _scan_path(data, n, self.max_plen_all,
                      <const unsigned char*>_bytearray_data(<PyObject*>self.plens_all),
                      self.merge, self.normalize, req.blen, req.bhash, &req.nb, &req.overflow,
                      &req.bmask, &req.full_hash, qpos)


cdef bint _scan_apart(Table self, PyObject* raw, Req* req) noexcept:
    """_scan for route_asgi's raw_path (an exact bytes) decided apart from its query
    (_decide_split), read where it lies as its latin-1 text (Req.path the bytes, Req.pdata
    their data). True when the pass reads it whole and finds no "?" in it (req.plen set), else
    False (the caller decides the joined target)."""
    cdef Py_ssize_t q = -1
    cdef Py_ssize_t n = PyBytes_GET_SIZE(<object>raw)
    cdef const unsigned char* data = <const unsigned char*>PyBytes_AS_STRING(<object>raw)
    req.pdata = data
    req.overflow = False
    if n == 0 or data[0] != 47:  # "/"
        return False
    if n < 64:
        if not _scan_short(data, n, self.merge, self.normalize, &req.bmask, &req.nb,
                           &req.full_hash, &q):
            return False
    elif not _scan_path(data, n, self.max_plen_all,
                        <const unsigned char*>_bytearray_data(<PyObject*>self.plens_all),
                        self.merge, self.normalize, req.blen, req.bhash, &req.nb, &req.overflow,
                        &req.bmask, &req.full_hash, &q) or req.overflow:
        return False  # (overflow: _long_prefixes would read the path as text)
    if q >= 0:
        return False
    req.plen = n
    return True
