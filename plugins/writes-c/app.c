/* Decoder for `bpf/writes.bpf.c`, in C: write(2) calls per process.
 *
 * The same series as the Rust decoder in `plugins/writes`: the program counts
 * into `writes_by_process`, an LRU hash keyed by
 * `struct { __u32 pid; char comm[16]; }` with a `__u64` count.
 *
 * `decoder.h` is what wit-bindgen's C generator writes for the agent's WIT
 * world (`wit-bindgen c --world decoder wit/<version>`); `cargo xtask
 * build-plugins` or `bpfhost plugin build` generate it, compile this file
 * and `writes.c` with clang for wasm32-wasi and make the component. The
 * decoding logic is in `writes.c`, which `test.c` tests natively.
 *
 * Memory: the agent hands over `maps`, which this code owns and frees; what
 * it returns must be allocated with malloc (the bindings free it after the
 * agent copied it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "writes.h"

/* `ptr`, or a trap when an allocation failed (the agent then quarantines
 * the decoder as for any trap). */
static void *must(void *ptr) {
    if (ptr == NULL) {
        abort();
    }
    return ptr;
}

/* An error answer of `kind` (a BPFHOST_DECODER_TYPES_ERROR_ tag). */
static bool fail(decoder_error_t *err, uint8_t kind, const char *message) {
    err->tag = kind;
    decoder_string_dup(&err->val.failed, message);
    return false;
}

/* A list of `n` strings, each copied. */
static void strings(decoder_list_string_t *list, const char *const *values, size_t n) {
    list->len = n;
    list->ptr = must(malloc(n * sizeof(decoder_string_t)));
    for (size_t i = 0; i < n; i++) {
        decoder_string_dup(&list->ptr[i], values[i]);
    }
}

bool exports_decoder_init(decoder_string_t *config, decoder_spec_t *ret, decoder_error_t *err) {
    (void)err;
    decoder_string_free(config);
    bpfhost_decoder_types_family_t *family = must(calloc(1, sizeof(*family)));
    decoder_string_dup(&family->name, "write_syscalls");
    decoder_string_dup(&family->help, "write(2) calls, by process");
    family->metric_type = BPFHOST_DECODER_TYPES_METRIC_TYPE_COUNTER;
    static const char *const labels[] = {"pid", "comm"};
    strings(&family->labels, labels, 2);
    ret->families.ptr = family;
    ret->families.len = 1;
    static const char *const maps[] = {WRITES_MAP};
    strings(&ret->maps, maps, 1);
    ret->events.ptr = NULL; /* no event source */
    ret->events.len = 0;
    return true;
}

/* The snapshot of `name` in `maps`, or NULL. */
static const decoder_map_snapshot_t *find(const decoder_list_map_snapshot_t *maps,
                                          const char *name) {
    size_t len = strlen(name);
    for (size_t i = 0; i < maps->len; i++) {
        const decoder_string_t *n = &maps->ptr[i].name;
        if (n->len == len && memcmp(n->ptr, name, len) == 0) {
            return &maps->ptr[i];
        }
    }
    return NULL;
}

/* Fills `ret` from the snapshot; false with `err` set if its layout is not
 * the program's. */
static bool decode(const decoder_map_snapshot_t *map, decoder_output_t *ret,
                   decoder_error_t *err) {
    if (map->key_size != WRITES_KEY_SIZE || map->value_size != WRITES_VALUE_SIZE) {
        char message[128];
        snprintf(message, sizeof message,
                 "%s: expected %u-byte keys and %u-byte values, got %u and %u", WRITES_MAP,
                 WRITES_KEY_SIZE, WRITES_VALUE_SIZE, map->key_size, map->value_size);
        return fail(err, BPFHOST_DECODER_TYPES_ERROR_BAD_MAP, message);
    }
    uint32_t n = map->entries;
    if (n == 0) {
        return true;
    }
    /* At most 10 digits of pid and 16 bytes of comm per entry: one
     * allocation of each list, none per entry. */
    uint8_t *text = must(malloc((size_t)n * (10 + WRITES_COMM_SIZE)));
    uint32_t *ends = must(malloc((size_t)n * 2 * sizeof(uint32_t)));
    bpfhost_decoder_types_sample_t *samples = must(malloc((size_t)n * sizeof(*samples)));
    size_t size = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct writes_entry entry;
        writes_decode_entry(map->keys.ptr, map->values.ptr, i, map->cpus, map->value_size,
                            &entry);
        size += writes_u32_text(entry.pid, (char *)text + size);
        ends[2 * i] = (uint32_t)size;
        memcpy(text + size, entry.comm, entry.comm_len);
        size += entry.comm_len;
        ends[2 * i + 1] = (uint32_t)size;
        samples[i].family = 0;
        samples[i].labels.first = 2 * i;
        samples[i].labels.count = 2;
        samples[i].value = (double)entry.count;
    }
    ret->label_values.ptr = text;
    ret->label_values.len = size;
    ret->label_ends.ptr = ends;
    ret->label_ends.len = (size_t)n * 2;
    ret->samples.ptr = samples;
    ret->samples.len = n;
    return true;
}

bool exports_decoder_decode(decoder_list_map_snapshot_t *maps, uint64_t now,
                            decoder_output_t *ret, decoder_error_t *err) {
    (void)now;
    memset(ret, 0, sizeof(*ret));
    const decoder_map_snapshot_t *map = find(maps, WRITES_MAP);
    bool ok = map != NULL ? decode(map, ret, err)
                          : fail(err, BPFHOST_DECODER_TYPES_ERROR_BAD_MAP,
                                 "map " WRITES_MAP " is missing");
    decoder_list_map_snapshot_free(maps);
    return ok;
}

/* Declares no event source, so the agent never calls this. */
bool exports_decoder_on_events(decoder_event_batch_t *batch, decoder_error_t *err) {
    decoder_event_batch_free(batch);
    return fail(err, BPFHOST_DECODER_TYPES_ERROR_FAILED, "this decoder declares no event source");
}
