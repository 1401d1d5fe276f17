# The native twin's string-keyed hash map (routecore._match_c._StrMap), included by _match_c.pyx:
# built once per table, probed per request with (string, start, end, hash) so that no key is ever
# sliced out of the request.
#
# Invariant: open addressing (linear probing) in one flat array of 32-byte MapSlots, a
# power-of-two size (_map_size) at most half full, so that a hit is found in 1.5 probes and a
# miss in 2.5 on average; a slot's key bytes stay alive in ``keys`` (``wide`` for keys wider
# than one byte); ``longest`` and ``lens`` cover every key (callers skip the substrings no key
# can be). A probe compares the stored hash first; only an equal hash, length and tag compare
# the characters (rc_same_bytes: word compares up to 32 bytes, no call); length and tag are
# compared as one word (rc_int_pair_at: MapSlot.len and .tag are adjacent ints).

cdef extern from *:
    """
    /* a[0:n] == b[0:n] (one byte per character): overlapping word loads up to 32 bytes,
       memcmp past that. */
    static inline int rc_same_bytes(const unsigned char *a, const unsigned char *b, Py_ssize_t n) {
        uint32_t x, y, u, v;
        uint16_t s, t, w, z;
        if (n >= 8) {
            if (n <= 16)
                return ((rc_load64(a) ^ rc_load64(b))
                        | (rc_load64(a + n - 8) ^ rc_load64(b + n - 8))) == 0;
            if (n <= 32)
                return ((rc_load64(a) ^ rc_load64(b)) | (rc_load64(a + 8) ^ rc_load64(b + 8))
                        | (rc_load64(a + n - 16) ^ rc_load64(b + n - 16))
                        | (rc_load64(a + n - 8) ^ rc_load64(b + n - 8))) == 0;
            return memcmp(a, b, (size_t)n) == 0;
        }
        if (n >= 4) {
            memcpy(&x, a, 4); memcpy(&y, b, 4);
            memcpy(&u, a + n - 4, 4); memcpy(&v, b + n - 4, 4);
            return ((x ^ y) | (u ^ v)) == 0;
        }
        if (n >= 2) {
            memcpy(&s, a, 2); memcpy(&t, b, 2);
            memcpy(&w, a + n - 2, 2); memcpy(&z, b + n - 2, 2);
            return ((s ^ t) | (w ^ z)) == 0;
        }
        return n == 0 || a[0] == b[0];
    }

    /* The two ints at p (a MapSlot's len and tag, adjacent) as one word, and the word two
       ints a, b make laid out the same way: a probe compares length and tag in one test. */
    static inline uint64_t rc_int_pair_at(const int *p) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w;
    }
    static inline uint64_t rc_int_pair(int a, int b) {
        int two[2];
        uint64_t w;
        two[0] = a;
        two[1] = b;
        memcpy(&w, two, 8);
        return w;
    }
    """
    bint _same_bytes "rc_same_bytes"(const unsigned char* a, const unsigned char* b,
                                     Py_ssize_t n) nogil
    uint64_t _int_pair_at "rc_int_pair_at"(const int* p) nogil
    uint64_t _int_pair "rc_int_pair"(int a, int b) nogil


cdef inline Py_ssize_t _map_size(Py_ssize_t count) noexcept:
    """The slots of a map of ``count`` keys: a power of two, at least 8, at most half full."""
    cdef Py_ssize_t size = 8
    while size < 2 * count:
        size *= 2
    return size

cdef inline uint64_t _len_bit(Py_ssize_t n) noexcept:
    """The bit of length n in _StrMap.lens (bit 63: 63 or more)."""
    return (<uint64_t>1) << (n if n < 63 else 63)


cdef uint64_t _reversed64(uint64_t x) noexcept:
    """x with its bits in reverse order (bit j to bit 63 - j): _StrMap.rlens from lens."""
    cdef uint64_t r = 0
    cdef int j
    for j in range(64):
        if (x >> j) & 1:
            r |= (<uint64_t>1) << (63 - j)
    return r


cdef inline MapSlot* _probe(MapSlot* slots, Py_ssize_t mask, const unsigned char* d,
                           Py_ssize_t n, uint64_t h, int tag) noexcept:
    """The slot of (tag, d[0:n]) (one byte per character), whose unmixed hash is h, among the
    slots of a map (mask: their number - 1), or NULL. A key wider than one byte (data NULL)
    never equals such a string. Takes the map's arrays, not the map: no reference is made."""
    cdef Py_ssize_t i
    cdef MapSlot* slot
    cdef uint64_t lt
    if n > 0x7FFFFFFF:  # no key is that long (MapSlot.len is an int)
        return NULL
    lt = _int_pair(<int>n, tag)  # (len, tag) as MapSlot holds them
    h = _mix(h, tag)
    i = h & mask
    while True:
        slot = &slots[i]
        if slot.hash == h and _int_pair_at(&slot.len) == lt and slot.data != NULL \
                and _same_bytes(d, slot.data, n):
            return slot
        if slot.len < 0:
            return NULL
        i = (i + 1) & mask


cdef MapSlot* _probe_wide(_StrMap m, str s, Py_ssize_t start, Py_ssize_t end, uint64_t h,
                          int tag) noexcept:
    """_probe for s wider than one byte per character (s[start:end] may still be narrow)."""
    cdef Py_ssize_t i
    cdef MapSlot* slot
    h = _mix(h, tag)
    i = h & m.mask
    while True:
        slot = &m.slots[i]
        if slot.len < 0:
            return NULL
        if slot.hash == h and slot.len == end - start and slot.tag == tag:
            if slot.data != NULL:
                if _same(s, start, end, slot.data):
                    return slot
            elif PyUnicode_Tailmatch(s, m.wide[i], start, end, -1) == 1:
                return slot
        i = (i + 1) & m.mask


cdef class _StrMap:
    """(tag, str) -> (value, count), looked up by a hash the caller already computed (no
    substring made). Path maps hash forward (_hash_prefix) and tag keys with their group; host
    maps hash backward (_hash_suffix) with tag 0. One probe reads one 32-byte slot and the key's characters."""

    def __cinit__(self, items, bint reverse=False):
        """items: (key, tag, value, count) tuples, keys unique per tag."""
        cdef Py_ssize_t size, i
        cdef uint64_t h
        cdef MapSlot* slot
        items = list(items)
        size = _map_size(len(items))
        self.mask = size - 1
        self.count = len(items)
        self.slots = <MapSlot*>PyMem_Malloc(size * sizeof(MapSlot))
        if self.slots == NULL:
            raise MemoryError()
        self.keys = []
        self.wide = {}
        for i in range(size):
            self.slots[i].len = -1
            self.slots[i].hash = 0
        for key, tag, value, count in items:
            h = _mix(_hash_suffix(key, 0, len(key)) if reverse else _hash_prefix(key, len(key)), tag)
            i = h & self.mask
            while self.slots[i].len >= 0:
                i = (i + 1) & self.mask
            slot = &self.slots[i]
            slot.hash = h
            slot.len = len(key)
            slot.tag = tag
            slot.value = value
            slot.count = count
            if slot.len > self.longest:
                self.longest = slot.len
            self.lens |= _len_bit(slot.len)
            self.keys.append(key)
            if PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND:
                slot.data = <const unsigned char*>PyUnicode_DATA(key)
            else:
                slot.data = NULL
                self.wide[i] = key
        self.rlens = _reversed64(self.lens)

    def __dealloc__(self):
        PyMem_Free(self.slots)

    cdef MapSlot* get_at(self, str s, Py_ssize_t start, Py_ssize_t end, uint64_t h, int tag) noexcept:
        """The slot of (tag, s[start:end]), whose unmixed hash is h, or NULL."""
        if PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND:
            return _probe(self.slots, self.mask, <const unsigned char*>PyUnicode_DATA(s) + start,
                          end - start, h, tag)
        return _probe_wide(self, s, start, end, h, tag)

    def find(self, str s, int tag=0, bint reverse=False, str like=None, Py_ssize_t start=0):
        """The (value, count) of (tag, s[start:]), or None: get_at from Python, for tests
        (reverse: a host map). With ``like``, the probe carries like's hash instead (a forced
        collision when both have the same length)."""
        cdef MapSlot* slot
        cdef str k = s[start:] if like is None else like
        if not 0 <= start <= len(s):
            raise IndexError(start)
        slot = self.get_at(s, start, len(s), _hash_suffix(k, 0, len(k)) if reverse
                           else _hash_prefix(k, len(k)), tag)
        return None if slot == NULL else (slot.value, slot.count)
