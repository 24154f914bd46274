/* Native tests of the decoding logic: `gcc -o test test.c writes.c && ./test`
 * (`cargo xtask test` and `bpfhost plugin test` run them). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "writes.h"

static int failures;
static int passed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void decodes_pid_and_comm(void) {
    uint8_t keys[2 * WRITES_KEY_SIZE] = {0};
    uint8_t values[2 * WRITES_VALUE_SIZE];
    put_u32(keys, 4242);
    memcpy(keys + 4, "bash", 4);
    put_u64(values, 17);
    /* A comm of all 16 bytes has no NUL. */
    put_u32(keys + WRITES_KEY_SIZE, 7);
    memcpy(keys + WRITES_KEY_SIZE + 4, "abcdefghijklmnop", 16);
    put_u64(values + 8, UINT64_C(1) << 40);
    struct writes_entry e;
    writes_decode_entry(keys, values, 0, 1, WRITES_VALUE_SIZE, &e);
    CHECK(e.pid == 4242);
    CHECK(strcmp(e.comm, "bash") == 0 && e.comm_len == 4);
    CHECK(e.count == 17);
    writes_decode_entry(keys, values, 1, 1, WRITES_VALUE_SIZE, &e);
    CHECK(e.pid == 7);
    CHECK(strcmp(e.comm, "abcdefghijklmnop") == 0 && e.comm_len == 16);
    CHECK(e.count == UINT64_C(1) << 40);
}

static void per_cpu_slots_are_summed(void) {
    uint8_t keys[WRITES_KEY_SIZE] = {0};
    uint8_t values[3 * 8];
    put_u32(keys, 1);
    memcpy(keys + 4, "sh", 2);
    put_u64(values, 1);
    put_u64(values + 8, 20);
    put_u64(values + 16, 300);
    struct writes_entry e;
    writes_decode_entry(keys, values, 0, 3, WRITES_VALUE_SIZE, &e);
    CHECK(e.count == 321);
}

static void numbers_are_written_in_decimal(void) {
    char buf[11];
    CHECK(writes_u32_text(0, buf) == 1 && strcmp(buf, "0") == 0);
    CHECK(writes_u32_text(4242, buf) == 4 && strcmp(buf, "4242") == 0);
    CHECK(writes_u32_text(UINT32_MAX, buf) == 10 && strcmp(buf, "4294967295") == 0);
}

int main(void) {
    decodes_pid_and_comm();
    per_cpu_slots_are_summed();
    numbers_are_written_in_decimal();
    printf("%d passed, %d failed\n", passed, failures);
    return failures == 0 ? 0 : 1;
}
