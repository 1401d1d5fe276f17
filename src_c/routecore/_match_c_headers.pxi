# The native twin's reading of request headers (routecore._match_c), included by _match_c.pyx:
# the values of the header names a table references (its slots), read from the forms route()
# takes (a list or tuple of pairs, a dict, any mapping or iterable of pairs, a WSGI environ).
#
# Invariants:
# - the same values as routecore._match_py reads: names compared case-insensitively, values as
#   text (bytes decoded as latin-1), repeated headers joined with ","; only referenced names are
#   kept, each value once per request (Req.hv, released by _decide_c);
# - a kept value is a str, or an exact bytes value kept as it came and decoded (latin-1) in place
#   on its first read (_hv): values a decision never reads are never decoded. A join makes text;
# - slot 0 is "host", 1 ":authority", 2 "content-type" (_match_c_build.pxi); when every slot name
#   is lower-case ASCII (fast_names), Table.names (rc_names) holds them as 64-bit words: a header
#   name is first tested by its length alone (rc_names.lens, bit L & 63: some slot name has
#   length L; most real names stop there; hlens: the same for slots 0 and 1, in the walks that
#   read the Host alone), then by the first word of its length's bucket, then
#   one word compare per 8 bytes, (word | fold) & keep == key, fold setting bit 0x20 where the
#   slot name has a letter (so A-Z match a-z and nothing else does). Words are read with one
#   load each, the last one ending at the name's end (a str's or bytes' data has its object
#   header before it: a name under 8 bytes is read as the 8 bytes that end where it ends, keep
#   masking the bytes before it);
# - a str's length is read before its kind: an exact str that is not compact ASCII can only
#   lower-case to a slot name of its own length (of the non-ASCII characters only U+212A lowers
#   to ASCII, one to one; U+0130 lowers to two characters, one not ASCII: tests/test_header_words.py
#   checks this over every code point), and one not yet ready (a legacy str) has length 0,
#   whose bit is always set;
# - a list or tuple of (str or bytes, str or bytes) pairs is walked in C (rc_walk_pairs) through
#   borrowed references; no Python code runs during the walk. The first item it cannot take
#   (not a 2-tuple, a name that is not an exact compact-ASCII str nor bytes, another value type,
#   a repeated name) and every later one are read by _collect's general loop, which gives the
#   same answers or the same errors as routecore._match_py.

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define RC_LIKELY(x) __builtin_expect(!!(x), 1)
    #define RC_INLINE static inline __attribute__((always_inline))  /* (the walks' steps) */
    #else
    #define RC_LIKELY(x) (x)
    #define RC_INLINE static inline
    #endif

    typedef struct {
        Py_ssize_t off;   /* where the word is read, from the name's start (negative: before) */
        uint64_t key, fold, keep;
    } rc_word;

    typedef struct {
        Py_ssize_t len;
        rc_word w0;       /* the name's first word */
        const rc_word *w; /* its other words: w[0:nw] */
        int nw;
        int next;         /* the next slot of the same bucket (length & 63), or -1 */
        char pad[64 - sizeof(Py_ssize_t) - sizeof(rc_word) - sizeof(void *) - 2 * sizeof(int)];
    } rc_slot;            /* 64 bytes */

    typedef struct {
        rc_word w0;       /* the first word of the bucket's first slot */
        const rc_word *w; /* its other words: w[0:nw] */
        Py_ssize_t len;   /* its name's length, -1 when the bucket is empty */
        int first;        /* that slot, or -1 */
        int nw;
        int alone;        /* no other slot in the bucket */
    } rc_bucket;

    typedef struct {
        uint64_t lens;    /* bit L & 63: some slot name has length L; bit 0 always */
        uint64_t hlens;   /* the same for slots 0 and 1 alone (Host, :authority) */
        int nslots;
        rc_bucket b[64];  /* by a name's length & 63 */
        rc_slot *slots;
        rc_word *words;
    } rc_names;

    static inline uint64_t rc_word_at(const unsigned char *p) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w;
    }

    /* The word of the lower-case ASCII name[0:n] read at off (bytes before the name: 0, not
       kept), with fold on its letters. */
    static void rc_word_make(rc_word *w, const unsigned char *name, Py_ssize_t n, Py_ssize_t off) {
        unsigned char kb[8], fb[8], mb[8];
        int i;
        for (i = 0; i < 8; i++) {
            unsigned char c = (off + i >= 0) ? name[off + i] : 0;
            kb[i] = c;
            fb[i] = (off + i >= 0 && c >= 'a' && c <= 'z') ? 0x20 : 0;
            mb[i] = off + i >= 0 ? 0xFF : 0;
        }
        w->off = off;
        memcpy(&w->key, kb, 8);
        memcpy(&w->fold, fb, 8);
        memcpy(&w->keep, mb, 8);
    }

    /* rc_names of the lower-case ASCII names[0:nslots] (lens: their lengths), or NULL (no
       memory); freed with PyMem_Free. */
    static rc_names *rc_names_new(const unsigned char *const *names, const Py_ssize_t *lens,
                                  int nslots) {
        Py_ssize_t nw = 0, n, j;
        int k, w, b;
        size_t size;
        char *block;
        rc_names *t;
        for (k = 0; k < nslots; k++)
            nw += lens[k] <= 8 ? 0 : (lens[k] + 7) / 8 - 1;
        size = sizeof(rc_names) + (size_t)nw * sizeof(rc_word) + (size_t)nslots * sizeof(rc_slot);
        block = (char *)PyMem_Malloc(size);
        if (block == NULL)
            return NULL;
        t = (rc_names *)block;
        t->words = (rc_word *)(block + sizeof(rc_names));
        t->slots = (rc_slot *)(t->words + nw);
        t->nslots = nslots;
        t->lens = t->hlens = 1;
        memset(t->b, 0, sizeof(t->b));
        for (b = 0; b < 64; b++) {
            t->b[b].first = -1;
            t->b[b].len = -1;
            t->b[b].alone = 1;
        }
        for (k = nslots - 1; k >= 0; k--) {  /* buckets in slot order: each slot goes first */
            b = (int)(lens[k] & 63);
            t->lens |= (uint64_t)1 << b;
            if (k < 2)
                t->hlens |= (uint64_t)1 << b;
            t->slots[k].next = t->b[b].first;
            t->b[b].first = k;
        }
        w = 0;
        for (k = 0; k < nslots; k++) {
            n = lens[k];
            t->slots[k].len = n;
            rc_word_make(&t->slots[k].w0, names[k], n, n < 8 ? n - 8 : 0);
            t->slots[k].w = t->words + w;
            t->slots[k].nw = n <= 8 ? 0 : (int)((n + 7) / 8 - 1);
            for (j = 1; j < (n <= 8 ? 1 : (n + 7) / 8); j++)
                rc_word_make(&t->words[w++], names[k], n, j * 8 + 8 <= n ? j * 8 : n - 8);
        }
        for (b = 0; b < 64; b++) {
            k = t->b[b].first;
            if (k < 0)
                continue;
            t->b[b].w0 = t->slots[k].w0;
            t->b[b].w = t->slots[k].w;
            t->b[b].nw = t->slots[k].nw;
            t->b[b].len = t->slots[k].len;
            t->b[b].alone = t->slots[k].next < 0;
        }
        return t;
    }

    RC_INLINE int rc_word_is(const rc_word *w, const unsigned char *d) {
        return ((rc_word_at(d + w->off) | w->fold) & w->keep) == w->key;
    }

    RC_INLINE int rc_words_are(const rc_word *w, int nw, const unsigned char *d) {
        int i;
        for (i = 0; i < nw; i++)
            if (!rc_word_is(w + i, d))
                return 0;
        return 1;
    }

    /* The slot from t's slot k on (following next) of the name d[0:n] (with 8 readable bytes
       before d), compared with A-Z folded: the first word, then the others; -1 when none. */
    static inline int rc_slot_in(const rc_names *t, int k, const unsigned char *d, Py_ssize_t n) {
        for (; k >= 0; k = t->slots[k].next) {
            const rc_slot *s = t->slots + k;
            if (s->len == n && rc_word_is(&s->w0, d) && rc_words_are(s->w, s->nw, d))
                return k;
        }
        return -1;
    }

    /* The slot of the name d[0:n] whose length has its bit in t->lens: its bucket's first
       slot when that one's length and words match, else the bucket's other slots. */
    RC_INLINE int rc_bucket_slot(const rc_names *t, const unsigned char *d, Py_ssize_t n) {
        const rc_bucket *b = t->b + (n & 63);
        if (b->len == n && rc_word_is(&b->w0, d) && rc_words_are(b->w, b->nw, d))
            return b->first;
        if (b->alone)
            return -1;
        return rc_slot_in(t, t->slots[b->first].next, d, n);
    }

    static inline int rc_slot_of(const rc_names *t, const unsigned char *d, Py_ssize_t n) {
        return ((t->lens >> (n & 63)) & 1) ? rc_bucket_slot(t, d, n) : -1;
    }

    /* The slot of header name nm: -1 when none, -2 when nm is neither an exact str of compact
       ASCII nor an exact bytes (the caller's general lookup decides). */
    static inline int rc_name_of(const rc_names *t, PyObject *nm) {
        if (Py_IS_TYPE(nm, &PyUnicode_Type)) {
            if (!PyUnicode_IS_COMPACT_ASCII(nm))
                return -2;
            return rc_slot_of(t, (const unsigned char *)(((PyASCIIObject *)nm) + 1),
                              ((PyASCIIObject *)nm)->length);
        }
        if (Py_IS_TYPE(nm, &PyBytes_Type))
            return rc_slot_of(t, (const unsigned char *)PyBytes_AS_STRING(nm), PyBytes_GET_SIZE(nm));
        return -2;
    }


    /* The entry kv[0:2] = (name, value) of a dict into vals, as rc_walk_pairs_in takes a
       pair's: 0 when taken or when no slot below upto has that name, 1 when the caller's
       general reading must take it. (rc_walk_pairs_in keeps its own copy of these steps: made
       one function, gcc laid out the pair walks worse, +5 to +40 instructions a decision.) */
    RC_INLINE int rc_take(const rc_names *t, uint64_t lens, PyObject *const *kv,
                              PyObject **vals, int upto) {
        PyObject *nm = kv[0], *v;
        const unsigned char *d;
        Py_ssize_t n;
        int k;
        if (RC_LIKELY(Py_IS_TYPE(nm, &PyUnicode_Type))) {
            n = ((PyASCIIObject *)nm)->length;
            if (RC_LIKELY(!((lens >> (n & 63)) & 1)))  /* no slot name has this length */
                return 0;
            if (!PyUnicode_IS_COMPACT_ASCII(nm))
                return 1;
            d = (const unsigned char *)(((PyASCIIObject *)nm) + 1);
        } else if (Py_IS_TYPE(nm, &PyBytes_Type)) {
            n = PyBytes_GET_SIZE(nm);
            if (RC_LIKELY(!((lens >> (n & 63)) & 1)))
                return 0;
            d = (const unsigned char *)PyBytes_AS_STRING(nm);
        } else {
            return 1;
        }
        k = rc_bucket_slot(t, d, n);
        if (k < 0 || k >= upto)
            return 0;
        v = kv[1];
        if (vals[k] != NULL || !(Py_IS_TYPE(v, &PyUnicode_Type) || Py_IS_TYPE(v, &PyBytes_Type)))
            return 1;
        Py_INCREF(v);
        vals[k] = v;
        return 0;
    }

    /* Walk the (name, value) pairs items[0:count]: the value of each name of a slot below upto
       goes to vals[slot] (a new reference). Returns count, or the index of the first item left
       to the caller's general reading: not a 2-tuple, a name that is neither an exact str nor
       an exact bytes, a str name of a slot name's length that is not compact ASCII, a value
       that is not an exact str or bytes, a slot already filled (a repeat: joined there).
       A name is tested by its length alone first (lens: t->lens, or t->hlens when upto is 2;
       it must have the bit of every slot name below upto), a str's before its kind (a str
       that is not compact ASCII can only be a slot name's variant of the same length: see the
       module's invariants), then by its length bucket's first word, then by rc_slot_in. */
    /* Makes the compiler read *o's fields again after it (nothing is emitted): the test of a
       name's type against str is then one compare with memory, the type being loaded again
       for the bytes test (2 instructions a str pair, not 3) */
    #if defined(__GNUC__) || defined(__clang__)
    #define rc_reload(o) __asm__("" : "+r"(o))
    #else
    #define rc_reload(o) ((void)0)
    #endif

    static inline Py_ssize_t rc_walk_pairs_in(const rc_names *t, uint64_t lens,
                                              PyObject *const *items, Py_ssize_t count,
                                              PyObject **vals, int upto) {
        PyObject *const *end = items + count;
        Py_ssize_t i = -count;  /* end[i]: the pair; counts up to 0 (one add and one branch) */
        /* the three types in registers: each test of a pair is then one compare with memory
           (gcc otherwise loads &PyUnicode_Type from the GOT into a register on every pair) */
        PyTypeObject *tuple_t = &PyTuple_Type, *str_t = &PyUnicode_Type, *bytes_t = &PyBytes_Type;
    #if defined(__GNUC__) || defined(__clang__)
        __asm__("" : "+r"(tuple_t), "+r"(str_t), "+r"(bytes_t));
    #endif
        for (; i != 0; i++) {
            PyObject *it = end[i], *nm, *v;
            const unsigned char *d;
            Py_ssize_t n;
            int k;
            if (Py_TYPE(it) != tuple_t || Py_SIZE(it) != 2)
                break;
            nm = PyTuple_GET_ITEM(it, 0);
            if (RC_LIKELY(Py_TYPE(nm) == str_t)) {
                n = ((PyASCIIObject *)nm)->length;
                if (RC_LIKELY(!((lens >> (n & 63)) & 1)))  /* no slot name has this length */
                    continue;
                if (!PyUnicode_IS_COMPACT_ASCII(nm))
                    break;
                d = (const unsigned char *)(((PyASCIIObject *)nm) + 1);
            } else {
                rc_reload(nm);
                if (Py_TYPE(nm) != bytes_t)
                    break;
                n = PyBytes_GET_SIZE(nm);
                if (RC_LIKELY(!((lens >> (n & 63)) & 1)))
                    continue;
                d = (const unsigned char *)PyBytes_AS_STRING(nm);
            }
            k = rc_bucket_slot(t, d, n);
            if ((unsigned)k >= (unsigned)upto)  /* (-1: no slot) */
                continue;
            v = PyTuple_GET_ITEM(it, 1);
            if (vals[k] != NULL || !(Py_TYPE(v) == str_t || Py_TYPE(v) == bytes_t))
                break;
            Py_INCREF(v);
            vals[k] = v;
        }
        return count + i;
    }

    /* An exact dict's entries read in place (CPython 3.11 to 3.13 without free threading,
       whose dict keys start as rc_dictkeys below, Include/internal/pycore_dict.h): a combined
       table of str keys (kind 1, "unicode") is an array of {key, value} after the index table,
       a removed entry having a NULL value. rc_dict_ok is set once at import by rc_dict_check,
       which walks probe dicts both this way and by PyDict_Next and compares: on a build where
       the layout differs the walk is never used (every dict goes through PyDict_Next). */
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
    #define RC_DICT_WALK 1
    typedef struct {
        Py_ssize_t dk_refcnt;
        uint8_t dk_log2_size, dk_log2_index_bytes, dk_kind;
        uint32_t dk_version;
        Py_ssize_t dk_usable, dk_nentries;
        char dk_indices[];
    } rc_dictkeys;
    #else
    #define RC_DICT_WALK 0
    #endif
    static int rc_dict_ok = 0;

    /* The {key, value} entries of the exact dict d (*count: how many, removed ones included),
       or NULL when d's table is not a combined one of str keys (or the walk is off). */
    static inline PyObject *const *rc_dict_items(PyObject *d, Py_ssize_t *count) {
    #if RC_DICT_WALK
        const rc_dictkeys *keys = (const rc_dictkeys *)((PyDictObject *)d)->ma_keys;
        if (!rc_dict_ok || ((PyDictObject *)d)->ma_values != NULL || keys->dk_kind != 1)
            return NULL;
        *count = keys->dk_nentries;
        return (PyObject *const *)(keys->dk_indices + ((size_t)1 << keys->dk_log2_index_bytes));
    #else
        (void)d; (void)count;
        return NULL;
    #endif
    }

    /* rc_take over the entries e[0:2 * count] of rc_dict_items (removed ones skipped): 1 when
       it took every entry, 0 when one is left to the caller's general reading (vals may hold
       references). */
    static int rc_walk_dict(const rc_names *t, uint64_t lens, PyObject *const *e,
                            Py_ssize_t count, PyObject **vals, int upto) {
        PyObject *const *end = e + 2 * count;
        Py_ssize_t i = -2 * count;  /* end[i:i + 2]: the entry; counts up to 0 */
        for (; i != 0; i += 2) {
            if (end[i + 1] != NULL && rc_take(t, lens, end + i, vals, upto))  /* (NULL: removed) */
                return 0;
        }
        return 1;
    }

    /* Sets rc_dict_ok when dicts of 1 to 40 str keys, one in three removed, give the same
       (key, value) sequence walked in place as by PyDict_Next; -1 on a Python error. */
    static int rc_dict_check(void) {
    #if RC_DICT_WALK
        PyObject *d, *k, *v, *const *e;
        Py_ssize_t n, i, pos, count, j;
        int same = 1;
        rc_dict_ok = 1;
        for (n = 1; n <= 40 && same; n++) {
            if ((d = PyDict_New()) == NULL)
                return -1;
            for (i = 0; i < n; i++) {
                k = PyUnicode_FromFormat("k%zd", i);
                if (k == NULL || PyDict_SetItem(d, k, k) < 0 || (i % 3 == 1 && PyDict_DelItem(d, k) < 0)) {
                    Py_XDECREF(k);
                    Py_DECREF(d);
                    return -1;
                }
                Py_DECREF(k);
            }
            e = rc_dict_items(d, &count);
            pos = 0;
            j = 0;
            while (same && PyDict_Next(d, &pos, &k, &v)) {
                while (e != NULL && j < count && e[2 * j + 1] == NULL)
                    j++;
                same = e != NULL && j < count && e[2 * j] == k && e[2 * j + 1] == v;
                j++;
            }
            while (same && j < count && e[2 * j + 1] == NULL)
                j++;
            same = same && j == count;
            Py_DECREF(d);
        }
        rc_dict_ok = same;
    #endif
        return 0;
    }

    /* The items of headers when it is a list or a tuple (count: how many), else NULL. */
    static inline PyObject *const *rc_seq_items(PyObject *headers, Py_ssize_t *count) {
        if (Py_IS_TYPE(headers, &PyList_Type)) {
            *count = PyList_GET_SIZE(headers);
            return ((PyListObject *)headers)->ob_item;
        }
        if (Py_IS_TYPE(headers, &PyTuple_Type)) {
            *count = PyTuple_GET_SIZE(headers);
            return ((PyTupleObject *)headers)->ob_item;
        }
        return NULL;
    }

    /* rc_walk_pairs_in over a list or tuple of pairs for slots 0 and 1 (Host, :authority)
       into two[0:2]: 1 when it read the whole of headers, else 0 (two may hold references). */
    static inline int rc_walk_host(const rc_names *t, PyObject *headers, PyObject **two) {
        Py_ssize_t count;
        PyObject *const *items = rc_seq_items(headers, &count);
        return items != NULL && rc_walk_pairs_in(t, t->hlens, items, count, two, 2) == count;
    }

    /* rc_walk_pairs_in as a function of its own: inlined into _collect, the loop spills */
    #if defined(__GNUC__) || defined(__clang__)
    __attribute__((noinline))
    #endif
    static Py_ssize_t rc_walk_pairs(const rc_names *t, uint64_t lens, PyObject *const *items,
                                    Py_ssize_t count, PyObject **vals, int upto) {
        return rc_walk_pairs_in(t, lens, items, count, vals, upto);
    }

    /* rc_walk_pairs with every slot name's length (_collect) */
    static inline Py_ssize_t rc_walk_pairs_all(const rc_names *t, PyObject *const *items,
                                               Py_ssize_t count, PyObject **vals, int upto) {
        return rc_walk_pairs(t, t->lens, items, count, vals, upto);
    }

    /* rc_walk_pairs over a list or tuple of pairs, or rc_walk_dict over an exact dict that
       rc_dict_items reads, into vals[0:upto]: 1 when it read the whole of headers, 0 when not
       (vals may hold references), -1 when headers is another type or another dict. */
    static inline int rc_walk_all(const rc_names *t, uint64_t lens, PyObject *headers,
                                  PyObject **vals, int upto) {
        Py_ssize_t count;
        PyObject *const *items = rc_seq_items(headers, &count);
        if (items != NULL)
            return rc_walk_pairs(t, lens, items, count, vals, upto) == count;
        if (Py_IS_TYPE(headers, &PyDict_Type) && (items = rc_dict_items(headers, &count)) != NULL)
            return rc_walk_dict(t, lens, items, count, vals, upto);
        return -1;
    }

    /* rc_walk_all for every slot (vals[0:t->nslots]), and for the Host's two (two[0:2]) */
    static inline int rc_walk_every(const rc_names *t, PyObject *headers, PyObject **vals) {
        return rc_walk_all(t, t->lens, headers, vals, t->nslots);
    }

    static inline int rc_walk_all_host(const rc_names *t, PyObject *headers, PyObject **two) {
        return rc_walk_all(t, t->hlens, headers, two, 2);
    }

    /* rc_walk_all for the content-type alone (slot 2) into three[0:3]: names tested by its
       length's bit (and bit 0) alone, so slots 0 and 1 (lengths 4 and 10) stay NULL */
    static inline int rc_walk_all_ct(const rc_names *t, PyObject *headers, PyObject **three) {
        return rc_walk_all(t, (uint64_t)1 | ((uint64_t)1 << (t->slots[2].len & 63)), headers,
                           three, 3);
    }

    /* p[0:16] = NULL in eight 16-byte stores (a loop or a memset of 16 pointers compiles to a
       memset call or a rep stos) */
    static inline void rc_clear16(PyObject **p) {
    #if defined(__GNUC__) || defined(__clang__)
        typedef long long rc_v2 __attribute__((vector_size(16), aligned(8), may_alias));
        rc_v2 z = {0, 0};
        rc_v2 *v = (rc_v2 *)p;
        v[0] = z; v[1] = z; v[2] = z; v[3] = z; v[4] = z; v[5] = z; v[6] = z; v[7] = z;
    #else
        memset(p, 0, 16 * sizeof(PyObject *));
    #endif
    }
    """
    ctypedef struct rc_names:
        int nslots
    rc_names* _names_new "rc_names_new"(const unsigned char* const* names, const Py_ssize_t* lens,
                                        int nslots)
    int _name_of "rc_name_of"(const rc_names* t, PyObject* nm) noexcept
    int _slot_of "rc_slot_of"(const rc_names* t, const unsigned char* d, Py_ssize_t n) noexcept
    Py_ssize_t _walk_pairs "rc_walk_pairs_all"(const rc_names* t, PyObject** items,
                                               Py_ssize_t count, PyObject** vals, int upto) noexcept
    bint _walk_host "rc_walk_host"(const rc_names* t, PyObject* headers, PyObject** two) noexcept
    void _clear16 "rc_clear16"(PyObject** p) noexcept
    int _walk_every "rc_walk_every"(const rc_names* t, PyObject* headers, PyObject** vals) noexcept
    int _walk_all_host "rc_walk_all_host"(const rc_names* t, PyObject* headers, PyObject** two) noexcept
    int _walk_all_ct "rc_walk_all_ct"(const rc_names* t, PyObject* headers, PyObject** three) noexcept
    int _dict_check "rc_dict_check"() except -1
    bint _dict_walk_on "rc_dict_ok"


cdef int _name_keys(Table self) except -1:
    """Table.names from the slot names (_slots, _match_c_build.pxi), when they are all
    lower-case ASCII."""
    if self.fast_names:
        self.names = <void*>_names_new(self.snames, self.slens, self.nslots)
        if self.names == NULL:
            raise MemoryError()
    return 0


cdef inline bint _ascii_lower(str s):
    """True when ``s`` is ASCII without upper-case letters (so s.lower() is s)."""
    cdef Py_UCS4 c
    if not PyUnicode_IS_ASCII(s):
        return False
    for c in s:
        if c >= u'A' and c <= u'Z':
            return False
    return True


cdef inline bint _bytes_lower(bytes b):
    cdef unsigned char c
    for c in b:
        if c >= 65 and c <= 90:
            return False
    return True


cdef inline bint _ascii_bytes(const unsigned char* d, Py_ssize_t n) noexcept:
    """d[0:n] is ASCII (a word at a time)."""
    cdef Py_ssize_t i = 0
    cdef uint64_t acc = 0, w
    while i + 8 <= n:
        memcpy(&w, d + i, 8)
        acc |= w
        i += 8
    while i < n:
        acc |= d[i]
        i += 1
    return (acc & <uint64_t>0x8080808080808080) == 0


cdef str _latin1(const char* d, Py_ssize_t n):
    """d[0:n] decoded as latin-1: ASCII is copied straight into a new str (PyUnicode_DecodeLatin1
    first looks for its widest character, one byte at a time)."""
    cdef object s
    if not _ascii_bytes(<const unsigned char*>d, n):
        return PyUnicode_DecodeLatin1(d, n, NULL)
    s = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(s), d, n)
    return <str>s


cdef inline object _hv(PyObject** hv, int k):
    """hv[k] as text, None when absent: a bytes value is decoded (latin-1) in place."""
    cdef PyObject* v = hv[k]
    cdef object s
    if v == NULL:
        return None
    if PyBytes_CheckExact(<object>v):
        s = _latin1(PyBytes_AS_STRING(<object>v), PyBytes_GET_SIZE(<object>v))
        Py_INCREF(s)
        hv[k] = <PyObject*>s
        Py_XDECREF(v)
    return <object>hv[k]


cdef inline object _header_host(PyObject** hv):
    """The Host header, else :authority, else None (slots 0 and 1)."""
    if hv[0] != NULL:
        return _hv(hv, 0)
    if hv[1] != NULL:
        return _hv(hv, 1)
    return None


cdef inline object _header_host_raw(PyObject** hv):
    """_header_host as the value came (a str, or an exact bytes not decoded: _decide_at's Host
    check reads bytes in place, and the Decision decodes its Host only when asked)."""
    if hv[0] != NULL:
        return <object>hv[0]
    if hv[1] != NULL:
        return <object>hv[1]
    return None


cdef inline bint _maybe_headers(PyObject* headers) noexcept:
    """False when headers is certainly empty (no need to read it): None, or an empty list or
    tuple (its size read in place, no call)."""
    if type(<object>headers) is tuple or type(<object>headers) is list:
        return _ob_size(headers) != 0
    return headers != <PyObject*>None


cdef inline int _slot(Table self, PyObject* name) noexcept:
    """The slot of header name ``name`` (any case), -1 when the table does not reference it,
    -2 when only _slot_general can say (rc_name_of; slot names that are not lower-case
    ASCII)."""
    if self.names == NULL:
        return -2
    return _name_of(<const rc_names*>self.names, name)


cdef int _put(Table self, PyObject** vals, int k, PyObject* value) except -1:
    """Keep ``value`` for slot k (an exact str or bytes as it is, anything else as text),
    joined to an earlier one with "," (as text)."""
    cdef object val, v
    if vals[k] == NULL and (PyUnicode_CheckExact(<object>value)
                            or PyBytes_CheckExact(<object>value)):
        Py_INCREF(<object>value)
        vals[k] = value
        return 0
    val = <object>value  # owned: str() below may run code that drops the caller's reference
    if PyUnicode_CheckExact(val):
        v = val
    elif PyBytes_CheckExact(val):
        v = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(val), PyBytes_GET_SIZE(val), NULL)
    else:
        v = _text(val)
    if vals[k] != NULL:
        v = _hv(vals, k) + "," + v
        Py_XDECREF(vals[k])
    Py_INCREF(v)
    vals[k] = <PyObject*>v
    return 0


cdef int _collect(Table self, object headers, PyObject** vals, int upto, bint wsgi) except -1:
    """Values of the referenced headers of slots below ``upto`` into vals[slot] (new
    references, NULL when absent); repeated headers joined with ",". A list or tuple of
    pairs is walked in C (rc_walk_pairs) up to an item it leaves to the loop here; a dict is
    read through borrowed references; header names go through _slot."""
    cdef object name, value, it
    cdef PyObject* pk
    cdef PyObject* pv
    cdef Py_ssize_t j, count, pos = 0
    cdef int k
    cdef bint is_list
    if headers is None:
        return 0
    if wsgi:
        return _collect_environ(self, headers, vals, upto)
    if type(headers) is dict:
        while PyDict_Next(headers, &pos, &pk, &pv):
            k = _slot(self, pk)
            if k == -2:
                k = _slot_general(self, <object>pk)
            if 0 <= k < upto:
                _put(self, vals, k, pv)
        return 0
    is_list = type(headers) is list
    if is_list or type(headers) is tuple:
        count = PyList_GET_SIZE(headers) if is_list else PyTuple_GET_SIZE(headers)
        j = 0
        if self.names != NULL:
            j = _walk_pairs(<const rc_names*>self.names, PySequence_Fast_ITEMS(headers), count,
                            vals, upto)
        while j < (PyList_GET_SIZE(headers) if is_list else count):  # (a str() may shorten a list)
            it = <object>(PyList_GET_ITEM(headers, j) if is_list else PyTuple_GET_ITEM(headers, j))
            j += 1
            if PyTuple_CheckExact(it) and PyTuple_GET_SIZE(it) == 2:
                k = _slot(self, PyTuple_GET_ITEM(it, 0))
                if k == -2:
                    k = _slot_general(self, <object>PyTuple_GET_ITEM(it, 0))
                if 0 <= k < upto:
                    _put(self, vals, k, PyTuple_GET_ITEM(it, 1))
                continue
            name, value = _header_pair(it)
            k = _slot_general(self, name)
            if 0 <= k < upto:
                _put(self, vals, k, <PyObject*>value)
        return 0
    items = headers.items() if hasattr(headers, "items") else headers
    for it in items:
        name, value = _header_pair(it)
        k = _slot(self, <PyObject*>name)
        if k == -2:
            k = _slot_general(self, name)
        if 0 <= k < upto:
            _put(self, vals, k, <PyObject*>value)
    return 0


cdef int _slot_general(Table self, object name) except -3:
    """_slot through the name dictionaries: any name type, any characters."""
    cdef object slot
    if type(name) is bytes:
        slot = self.slots_bytes.get(name)
        if slot is None and not _bytes_lower(<bytes>name):
            slot = self.slots_bytes.get((<bytes>name).lower())
    else:
        if type(name) is not str:
            name = _text(name)
        slot = self.slots_str.get(name)
        if slot is None and not _ascii_lower(<str>name):
            slot = self.slots_str.get((<str>name).lower())
    return -1 if slot is None else <int>slot


cdef inline PyObject** _hvals(Table self, Req* req) except NULL:
    """The request's referenced headers by slot (NULL: absent), read on first need into
    ``req`` (a buffer on the C stack for up to 16 names); Table.route releases them."""
    if req.hv != NULL:  # (read already: no call)
        return req.hv
    return _hvals_read(self, req)


cdef PyObject** _hvals_read(Table self, Req* req) except NULL:
    """_hvals' first reading. A list or tuple of pairs is read by rc_walk_every; one it does not
    read whole is read again from the start by _collect."""
    cdef Py_ssize_t k
    cdef int whole
    if req.hv == NULL:
        if self.nslots <= 16:
            req.hv = req.hv_stack
            _clear16(req.hv_stack)
        else:
            req.hv = <PyObject**>PyMem_Malloc(self.nslots * sizeof(PyObject*))
            if req.hv == NULL:
                raise MemoryError()
            memset(req.hv, 0, self.nslots * sizeof(PyObject*))
        if self.names != NULL and not req.wsgi:
            whole = _walk_every(<const rc_names*>self.names, req.headers, req.hv)
            if whole == 1:
                return req.hv
            if whole == 0:
                for k in range(self.nslots):
                    Py_XDECREF(req.hv[k])
                    req.hv[k] = NULL
        _collect(self, <object>req.headers, req.hv, self.nslots, req.wsgi)
    return req.hv


cdef inline void _release_host2(PyObject** two) noexcept:
    """two[0:2] released and cleared."""
    Py_XDECREF(two[0])
    Py_XDECREF(two[1])
    two[0] = two[1] = NULL


cdef inline void _release(Table self, Req* req) noexcept:
    if req.hv != NULL:
        _release_hv(self, req)
    if req.host2[0] != NULL or req.host2[1] != NULL:
        _release_host2(req.host2)


cdef void _release_hv(Table self, Req* req) noexcept:
    cdef Py_ssize_t k
    for k in range(self.nslots):
        Py_XDECREF(req.hv[k])
    if req.hv != req.hv_stack:
        PyMem_Free(req.hv)
    req.hv = NULL


cdef inline object _read_host(Table self, Req* req):
    """The request's Host header, else :authority, else None (a str, or bytes as the pair
    walk found it: _header_host_raw), read alone when the headers are not read yet (a gateway view reads it before matching, a mesh view after; most requests
    need no other header): a list or tuple that rc_walk_host reads whole is read for slots 0
    and 1 alone (names tested by rc_names.hlens) into Req.host2 (released by _release); a later
    _hvals, when a header condition, the gRPC check or CORS needs one, reads the headers whole
    again. Anything else goes through _host_only."""
    if req.hv == NULL and self.names != NULL:
        if _walk_host(<const rc_names*>self.names, req.headers, req.host2):
            if req.host2[0] == NULL and req.host2[1] == NULL:
                return None
            return _header_host_raw(req.host2)
        _release_host2(req.host2)
    return _host_only(self, req)


cdef object _host_only(Table self, Req* req):
    """The request's Host header, else :authority, else None (routecore._match_py's
    reading), when nothing else may need the headers: slots 0 and 1 only, not kept. Headers
    already read, or a one-shot iterable, go through _hvals (read once; a bytes Host as it came,
    as _read_host's walk gives it: not decoded)."""
    cdef object headers = <object>req.headers, host
    cdef PyObject* two[2]
    if req.hv != NULL or req.wsgi or not (type(headers) is list or type(headers) is tuple
                                          or type(headers) is dict):
        return _header_host_raw(_hvals(self, req))
    two[0] = two[1] = NULL
    try:
        if self.names == NULL or _walk_all_host(<const rc_names*>self.names, req.headers, two) != 1:
            _release_host2(two)  # (a walk that stopped early: read again from the start)
            _collect(self, headers, two, 2, False)
        host = _header_host(two)
    finally:
        Py_XDECREF(two[0])
        Py_XDECREF(two[1])
    return host


include "_match_c_grpc.pxi"
include "_match_c_environ.pxi"

_dict_check()
_DICT_WALK = _dict_walk_on  # exact dicts read in place (rc_walk_dict; tests/test_header_dicts.py)
