# The native twin's string hashing, included by _match_c.pyx: what the hash maps are keyed by
# and the two passes every request makes (the target, forward; the host, backward).
#
# Invariants:
# - one hash of a string's characters, whatever its kind: characters are read eight at a time
#   into 64-bit words (one byte each, the character's low byte), folded by _step, then the
#   length mixed in (_fin). A prefix s[:p] hashes as the full words before p plus the p % 8
#   bytes left; a suffix s[i:end] as the full words read backward from end plus the (end - i) % 8
#   bytes left at i. So one pass yields the hash of every "/" boundary prefix (paths) or "."
#   suffix (hosts) from the words already folded, and _hash_prefix / _hash_suffix give the same
#   value for the same characters (the maps hash their keys with them).
# - the passes find the bytes they must act on 16 or 32 at a time (SSE2 where the compiler has
#   it, a byte loop otherwise) and look at no other byte one by one.

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    #define RC_SEED 0x243F6A8885A308D3ULL
    #if defined(__GNUC__) || defined(__clang__)
    #define RC_NOINLINE __attribute__((noinline))
    #else
    #define RC_NOINLINE
    #endif

    static inline uint64_t rc_load64(const unsigned char *p) {
        uint64_t w;
        memcpy(&w, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
    #endif
        return w;
    }

    /* r bytes (0 < r < 8) at p as the low bytes of a word; avail: how many bytes from p may be
       read, before: how many before p. Short strings: one load ending at p + r when 8 bytes fit
       there, the byte loop only for a string under 8 bytes. */
    static inline uint64_t rc_loadpart(const unsigned char *p, Py_ssize_t r, Py_ssize_t avail,
                                       Py_ssize_t before) {
        uint64_t w = 0;
        Py_ssize_t k;
        if (avail >= 8)
            return rc_load64(p) & ((((uint64_t)1) << (8 * r)) - 1);
        if (before + r >= 8)
            return rc_load64(p + r - 8) >> (8 * (8 - r));
        for (k = 0; k < r; k++)
            w |= (uint64_t)p[k] << (8 * k);
        return w;
    }

    /* One word folded in: a multiply, then the halves swapped so that the next multiply
       spreads the high bits too (rc_fin mixes once at the end). */
    static inline uint64_t rc_step(uint64_t h, uint64_t w) {
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        return (h << 32) | (h >> 32);
    }

    static inline uint64_t rc_fin(uint64_t h, Py_ssize_t n) {
        h ^= (uint64_t)n;
        h *= 0xFF51AFD7ED558CCDULL;
        return h ^ (h >> 33);
    }

    static inline int rc_ctz(unsigned m) { return __builtin_ctz(m); }
    static inline int rc_top(unsigned m) { return 31 - __builtin_clz(m); }

    #if defined(__SSE2__)
    /* p[0:min(avail, 16)] in a vector, before: how many bytes before p may be read. Reads no
       byte outside p[-before:avail] and copies nothing: when fewer than 16 bytes are left, the
       16 ending at p + avail if the string has them (*shift: by how many the caller moves its
       masks down), else two words. Bytes past avail are unspecified (the callers mask them). */
    static inline __m128i rc_load16(const unsigned char *p, Py_ssize_t avail, Py_ssize_t before,
                                    unsigned *shift) {
        uint64_t lo, hi = 0;
        *shift = 0;
        if (avail >= 16)
            return _mm_loadu_si128((const __m128i *)p);
        if (before + avail >= 16) {
            *shift = (unsigned)(16 - avail);
            return _mm_loadu_si128((const __m128i *)(p + avail - 16));
        }
        if (avail >= 8) {
            lo = rc_load64(p);
            if (avail > 8)
                hi = rc_load64(p + avail - 8) >> (8 * (16 - avail));
        } else {
            lo = rc_loadpart(p, avail, avail, before);
        }
        return _mm_set_epi64x((long long)hi, (long long)lo);
    }
    #endif

    /* Bytes of p[0:min(avail, 16)] by bit: "/" in *slash, "?" in *qmark, and "#", "%", "\\",
       "." in *other; before: how many bytes before p may be read. */
    static inline void rc_path_masks(const unsigned char *p, Py_ssize_t avail, Py_ssize_t before,
                                     unsigned *slash, unsigned *qmark, unsigned *other) {
        unsigned keep = avail >= 16 ? 0xFFFFu : ((1u << avail) - 1);
    #if defined(__SSE2__)
        unsigned sh;
        __m128i v = rc_load16(p, avail, before, &sh);
        *slash = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/'))) >> sh) & keep;
        *qmark = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('?'))) >> sh) & keep;
        *other = ((unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('#')), _mm_cmpeq_epi8(v, _mm_set1_epi8('%'))),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\\\')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))))) >> sh) & keep;
    #else
        unsigned s = 0, q = 0, o = 0, k, n = avail >= 16 ? 16 : (unsigned)avail;
        for (k = 0; k < n; k++) {
            unsigned char c = p[k];
            if (c == '/') s |= 1u << k;
            else if (c == '?') q |= 1u << k;
            else if (c == '#' || c == '%' || c == '\\\\' || c == '.') o |= 1u << k;
        }
        *slash = s; *qmark = q; *other = o;
        (void)keep; (void)before;
    #endif
    }

    /* rc_path_masks of a whole block (p[0:16] readable). */
    static inline void rc_path_masks16(const unsigned char *p, unsigned *slash, unsigned *qmark,
                                       unsigned *other) {
    #if defined(__SSE2__)
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        *slash = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
        *qmark = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')));
        *other = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('#')), _mm_cmpeq_epi8(v, _mm_set1_epi8('%'))),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\\\')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.')))));
    #else
        rc_path_masks(p, 16, 0, slash, qmark, other);
    #endif
    }

    /* The "/" of p[0:32] by bit (*slash), and whether any of "?", "#", "%", backslash, "." is
       there (*rare). */
    static inline void rc_path_masks32(const unsigned char *p, uint32_t *slash, int *rare) {
    #if defined(__SSE2__)
        __m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i s = _mm_set1_epi8('/'), q = _mm_set1_epi8('?'), h = _mm_set1_epi8('#'),
                c = _mm_set1_epi8('%'), bs = _mm_set1_epi8('\\\\'), dot = _mm_set1_epi8('.');
        __m128i ra = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, q), _mm_cmpeq_epi8(a, h)),
                                  _mm_or_si128(_mm_cmpeq_epi8(a, c), _mm_cmpeq_epi8(a, bs)));
        __m128i rb = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, q), _mm_cmpeq_epi8(b, h)),
                                  _mm_or_si128(_mm_cmpeq_epi8(b, c), _mm_cmpeq_epi8(b, bs)));
        ra = _mm_or_si128(_mm_or_si128(ra, _mm_cmpeq_epi8(a, dot)), _mm_or_si128(rb, _mm_cmpeq_epi8(b, dot)));
        *rare = _mm_movemask_epi8(ra) != 0;
        *slash = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, s))
                 | ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, s)) << 16);
    #else
        unsigned s0, q0, o0, s1, q1, o1;
        rc_path_masks16(p, &s0, &q0, &o0);
        rc_path_masks16(p + 16, &s1, &q1, &o1);
        *slash = s0 | (s1 << 16);
        *rare = (q0 | o0 | q1 | o1) != 0;
    #endif
    }

    /* Bytes of p[0:min(avail, 16)] by bit: the return value marks every byte that is not one of
       [a-z0-9.-] (a host's common characters), *dots the "."; before: as rc_path_masks */
    static inline unsigned rc_host_masks(const unsigned char *p, Py_ssize_t avail, Py_ssize_t before,
                                         unsigned *dots) {
        unsigned keep = avail >= 16 ? 0xFFFFu : ((1u << avail) - 1);
    #if defined(__SSE2__)
        unsigned sh;
        __m128i v = rc_load16(p, avail, before, &sh), ok, dot;
        /* ASCII only (the caller checked), so signed comparisons order the bytes */
        ok = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
        ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                            _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1))));
        dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
        ok = _mm_or_si128(ok, _mm_or_si128(dot, _mm_cmpeq_epi8(v, _mm_set1_epi8('-'))));
        *dots = ((unsigned)_mm_movemask_epi8(dot) >> sh) & keep;
        return (~(unsigned)_mm_movemask_epi8(ok) >> sh) & keep;
    #else
        unsigned bad = 0, d = 0, k, n = avail >= 16 ? 16 : (unsigned)avail;
        for (k = 0; k < n; k++) {
            unsigned char c = p[k];
            if (c == '.') d |= 1u << k;
            else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) bad |= 1u << k;
        }
        *dots = d;
        (void)keep; (void)before;
        return bad;
    #endif
    }

    /* rc_host_masks of a whole block (p[0:16] readable). */
    static inline unsigned rc_host_masks16(const unsigned char *p, unsigned *dots) {
    #if defined(__SSE2__)
        __m128i v = _mm_loadu_si128((const __m128i *)p), ok;
        /* ASCII only (the caller checked): a byte is in [lo, lo + k) when v + 128 - lo, as a
           signed byte, is below k - 128 */
        ok = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(128 - 'a'))), _mm_set1_epi8((char)(26 - 128)));
        ok = _mm_or_si128(ok, _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')),  /* [-./0-9] but "/" */
            _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(128 - '-'))), _mm_set1_epi8((char)(13 - 128)))));
        *dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
        return (unsigned)_mm_movemask_epi8(ok) ^ 0xFFFFu;
    #else
        return rc_host_masks(p, 16, 0, dots);
    #endif
    }

    /* Folds the words of d[i:*e] read backward from *e into h while 8 bytes are left (*e
       moves down to where it stopped). */
    static inline uint64_t rc_back_words(uint64_t h, const unsigned char *d, Py_ssize_t *e,
                                         Py_ssize_t i) {
        Py_ssize_t k = *e;
        for (; k - i >= 16; k -= 16)
            h = rc_step(rc_step(h, rc_load64(d + k - 8)), rc_load64(d + k - 16));
        if (k - i >= 8) {
            k -= 8;
            h = rc_step(h, rc_load64(d + k));
        }
        *e = k;
        return h;
    }
    """
    uint64_t _load64 "rc_load64"(const unsigned char* p) nogil
    uint64_t _loadpart "rc_loadpart"(const unsigned char* p, Py_ssize_t r, Py_ssize_t avail,
                                      Py_ssize_t before) nogil
    uint64_t _step "rc_step"(uint64_t h, uint64_t w) nogil
    uint64_t _fin "rc_fin"(uint64_t h, Py_ssize_t n) nogil
    uint64_t _back_words "rc_back_words"(uint64_t h, const unsigned char* d, Py_ssize_t* e,
                                         Py_ssize_t i) nogil
    int _ctz "rc_ctz"(unsigned m) nogil
    int _top "rc_top"(unsigned m) nogil
    void _path_masks "rc_path_masks"(const unsigned char* p, Py_ssize_t avail, Py_ssize_t before,
                                     unsigned* slash, unsigned* qmark, unsigned* other) nogil
    unsigned _host_masks "rc_host_masks"(const unsigned char* p, Py_ssize_t avail,
                                         Py_ssize_t before, unsigned* dots) nogil
    uint64_t HASH_SEED "RC_SEED"


cdef inline uint64_t _word_at(str s, Py_ssize_t start, Py_ssize_t r):
    """s[start:start + r] (r <= 8 characters) as a word, one low byte per character."""
    cdef uint64_t w = 0
    cdef Py_ssize_t k
    cdef Py_UCS4 c
    for k in range(r):
        c = s[start + k]
        w |= ((<uint64_t>c) & 0xFF) << (8 * k)
    return w


cdef struct Fwd:
    # a forward pass over data[0:avail]: h folds the first 8 * words bytes
    const unsigned char* data
    Py_ssize_t avail
    uint64_t h
    Py_ssize_t words


cdef inline uint64_t _fwd_at(Fwd* f, Py_ssize_t p) noexcept:
    """The hash of data[:p], p at or after every position asked before."""
    cdef Py_ssize_t full = p >> 3, r = p & 7
    while f.words < full:
        f.h = _step(f.h, _load64(f.data + 8 * f.words))
        f.words += 1
    if r:
        return _fin(_step(f.h, _loadpart(f.data + 8 * full, r, f.avail - 8 * full, 8 * full)), p)
    return _fin(f.h, p)


cdef uint64_t _hash_prefix(str s, Py_ssize_t p):
    """The hash of s[:p]."""
    cdef Fwd f
    cdef uint64_t h = HASH_SEED
    cdef Py_ssize_t k
    if PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND:
        f.data = <const unsigned char*>PyUnicode_DATA(s)
        f.avail = len(s)
        f.h = HASH_SEED
        f.words = 0
        return _fwd_at(&f, p)
    for k in range(0, p - 7, 8):
        h = _step(h, _word_at(s, k, 8))
    if p & 7:
        h = _step(h, _word_at(s, p & ~7, p & 7))
    return _fin(h, p)


cdef uint64_t _hash_suffix(str s, Py_ssize_t i, Py_ssize_t end):
    """The hash of s[i:end], read backward (hosts: every "." suffix in one pass)."""
    cdef uint64_t h = HASH_SEED
    cdef Py_ssize_t e = end, r
    cdef bint narrow = PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND
    cdef const unsigned char* d = <const unsigned char*>PyUnicode_DATA(s)
    if narrow:
        h = _back_words(h, d, &e, i)
    while e - i >= 8:
        e -= 8
        h = _step(h, _word_at(s, e, 8))
    r = e - i
    if r:
        h = _step(h, _loadpart(d + i, r, len(s) - i, i) if narrow else _word_at(s, i, r))
    return _fin(h, end - i)
