/* The decoding logic of the C `writes` decoder, apart from its bindings:
 * plain C that `test.c` runs natively (gcc) and `app.c` calls in wasm. */
#ifndef WRITES_H
#define WRITES_H

#include <stddef.h>
#include <stdint.h>

#define WRITES_MAP "writes_by_process"
/* struct { __u32 pid; char comm[16]; } */
#define WRITES_KEY_SIZE 20u
#define WRITES_COMM_SIZE 16u
/* __u64 */
#define WRITES_VALUE_SIZE 8u

/* One decoded entry. `comm` is NUL-terminated; `comm_len` excludes the NUL. */
struct writes_entry {
    uint32_t pid;
    char comm[WRITES_COMM_SIZE + 1];
    size_t comm_len;
    uint64_t count;
};

/* Decodes entry `index` of a snapshot: the key is `WRITES_KEY_SIZE` bytes at
 * `keys + index * WRITES_KEY_SIZE`, the value `cpus` slots of `value_size`
 * (rounded up to 8 bytes when `cpus` > 1, the kernel's per-CPU layout),
 * summed. The caller checked the sizes. */
void writes_decode_entry(const uint8_t *keys, const uint8_t *values, uint32_t index,
                         uint32_t cpus, uint32_t value_size, struct writes_entry *out);

/* Writes `value` in decimal to `buf` (at least 11 bytes); returns its length. */
size_t writes_u32_text(uint32_t value, char *buf);

#endif
