#include "writes.h"

#include <string.h>

static uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const uint8_t *p) {
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

void writes_decode_entry(const uint8_t *keys, const uint8_t *values, uint32_t index,
                         uint32_t cpus, uint32_t value_size, struct writes_entry *out) {
    const uint8_t *key = keys + (size_t)index * WRITES_KEY_SIZE;
    out->pid = load_u32(key);
    /* comm ends at its first NUL, or fills all 16 bytes. */
    const uint8_t *comm = key + 4;
    size_t len = 0;
    while (len < WRITES_COMM_SIZE && comm[len] != 0) {
        len++;
    }
    memcpy(out->comm, comm, len);
    out->comm[len] = 0;
    out->comm_len = len;
    size_t stride = cpus > 1 ? ((size_t)value_size + 7) / 8 * 8 : value_size;
    const uint8_t *slot = values + (size_t)index * cpus * stride;
    uint64_t count = 0;
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        count += load_u64(slot + (size_t)cpu * stride);
    }
    out->count = count;
}

size_t writes_u32_text(uint32_t value, char *buf) {
    char digits[10];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < n; i++) {
        buf[i] = digits[n - 1 - i];
    }
    buf[n] = 0;
    return n;
}
