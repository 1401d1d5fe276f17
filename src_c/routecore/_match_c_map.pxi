# The native twin's string-keyed hash map (routecore._match_c._StrMap), included by _match_c.pyx:
# built once per table, probed per request with (string, start, end, hash) so that no key is ever
# sliced out of the request.
#
# Invariant: open addressing in one flat array of 32-byte MapSlots, a power-of-two size at most
# 3/4 full; a slot's key bytes stay alive in ``keys`` (``wide`` for keys wider than one byte);
# ``longest`` and ``lens`` cover every key (callers skip the substrings no key can be).

cdef inline uint64_t _len_bit(Py_ssize_t n) noexcept:
    """The bit of length n in _StrMap.lens (bit 63: 63 or more)."""
    return (<uint64_t>1) << (n if n < 63 else 63)


cdef class _StrMap:
    """(tag, str) -> (value, count), looked up by a hash the caller already computed (no
    substring made). Path maps hash forward (_hash_prefix) and tag keys with their group; host
    maps hash backward (_hash_suffix) with tag 0. One probe reads one 32-byte slot and the key's characters."""

    def __cinit__(self, items, bint reverse=False):
        """items: (key, tag, value, count) tuples, keys unique per tag."""
        cdef Py_ssize_t size = 8, i
        cdef uint64_t h
        cdef MapSlot* slot
        items = list(items)
        while 3 * size < 4 * len(items) + 1:  # at most 3/4 full
            size *= 2
        self.mask = size - 1
        self.count = len(items)
        self.slots = <MapSlot*>PyMem_Malloc(size * sizeof(MapSlot))
        if self.slots == NULL:
            raise MemoryError()
        self.keys = []
        self.wide = {}
        for i in range(size):
            self.slots[i].len = -1
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

    def __dealloc__(self):
        PyMem_Free(self.slots)

    cdef MapSlot* get_at(self, str s, Py_ssize_t start, Py_ssize_t end, uint64_t h, int tag) noexcept:
        """The slot of (tag, s[start:end]), whose unmixed hash is h, or NULL."""
        cdef Py_ssize_t n = end - start, i
        cdef MapSlot* slot
        if self.count == 0:
            return NULL
        h = _mix(h, tag)
        i = h & self.mask
        while True:
            slot = &self.slots[i]
            if slot.len < 0:
                return NULL
            if slot.hash == h and slot.len == n and slot.tag == tag:
                if slot.data != NULL:
                    if _same(s, start, end, slot.data):
                        return slot
                elif PyUnicode_Tailmatch(s, self.wide[i], start, end, -1) == 1:
                    return slot
            i = (i + 1) & self.mask
