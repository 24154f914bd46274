/*
 * Byte layouts of C structs, as a C compiler lays them out, for the SDK's
 * layout tests (tests/layouts.rs compiles and runs this at test time).
 *
 * Prints one `NAME VALUE` line per fact:
 *   <struct>.bytes       the instance's bytes in hex
 *   <struct>.size        sizeof
 *   <struct>.<field>.off offsetof
 *   <struct>.<field>     the field's value as C sees it (decimal, text)
 *
 * Padding is filled with 0xaa first, so a reader that does not skip it
 * reads garbage rather than lucky zeros.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A typical tracing key: the u8 leaves one byte of padding before the
 * __be16, the u64 starts at 8; signed fields after the char array. */
struct conn_key {
	uint32_t pid;
	uint8_t proto;
	uint16_t port_be; /* network byte order */
	uint64_t cgroup;
	char comm[16];
	int8_t nice;
	int16_t delta16;
	int32_t delta32;
	int64_t delta64;
};

/* Addresses as the kernel stores them. */
struct addr_pair {
	uint8_t family;
	struct in_addr saddr;   /* 4-byte aligned */
	struct in6_addr daddr;  /* 4-byte aligned */
	uint16_t sport_be;
	uint32_t seq_be;
	uint64_t cookie_be;
	char comm[16];          /* no NUL: all 16 bytes used */
};

/* A packed key: no padding at all. */
struct __attribute__((packed)) packed_key {
	uint8_t a;
	uint32_t b;
	uint16_t c;
	uint64_t d;
};

/* Histogram values: bcc-style u64 log2 slots with a sum slot, and
 * libbpf-tools' struct hist of u32 slots. */
struct hist {
	uint64_t slots[8];
	uint64_t sum;
};

struct hist32 {
	uint32_t slots[6];
};

/* Keys of a histogram map keyed by label and slot. */
struct hist_key {
	uint64_t cgroup;
	uint32_t slot;
};

static void hex(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;
	printf("%s.bytes ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

#define OFF(s, f) printf(#s "." #f ".off %zu\n", offsetof(struct s, f))
#define SIZE(s) printf(#s ".size %zu\n", sizeof(struct s))

static void ntop(const char *name, int af, const void *addr)
{
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(af, addr, text, sizeof(text)))
		text[0] = '\0';
	printf("%s %s\n", name, text);
}

int main(void)
{
	struct conn_key k;
	memset(&k, 0xaa, sizeof(k));
	k.pid = 4242;
	k.proto = 6;
	k.port_be = htons(8443);
	k.cgroup = 0x0123456789abcdefULL;
	memset(k.comm, 0, sizeof(k.comm));
	strcpy(k.comm, "curl");
	k.nice = -5;
	k.delta16 = -300;
	k.delta32 = -70000;
	k.delta64 = -5000000000LL;
	hex("conn_key", &k, sizeof(k));
	SIZE(conn_key);
	OFF(conn_key, pid);
	OFF(conn_key, proto);
	OFF(conn_key, port_be);
	OFF(conn_key, cgroup);
	OFF(conn_key, comm);
	OFF(conn_key, nice);
	OFF(conn_key, delta16);
	OFF(conn_key, delta32);
	OFF(conn_key, delta64);
	printf("conn_key.pid %u\n", k.pid);
	printf("conn_key.proto %u\n", k.proto);
	printf("conn_key.port_be %u\n", ntohs(k.port_be));
	printf("conn_key.cgroup %llu\n", (unsigned long long)k.cgroup);
	printf("conn_key.comm %s\n", k.comm);
	printf("conn_key.nice %d\n", k.nice);
	printf("conn_key.delta16 %d\n", k.delta16);
	printf("conn_key.delta32 %d\n", k.delta32);
	printf("conn_key.delta64 %lld\n", (long long)k.delta64);

	struct addr_pair a;
	memset(&a, 0xaa, sizeof(a));
	a.family = AF_INET6;
	inet_pton(AF_INET, "192.168.1.20", &a.saddr);
	inet_pton(AF_INET6, "2001:db8::8a2e:370:7334", &a.daddr);
	a.sport_be = htons(51234);
	a.seq_be = htonl(3000000000U);
	unsigned char cookie[8];
	for (int i = 0; i < 8; i++)
		cookie[i] = (unsigned char)(0x0102030405060708ULL >> (56 - 8 * i));
	memcpy(&a.cookie_be, cookie, 8);
	memcpy(a.comm, "kworker/u16:2-ev", 16);
	hex("addr_pair", &a, sizeof(a));
	SIZE(addr_pair);
	OFF(addr_pair, family);
	OFF(addr_pair, saddr);
	OFF(addr_pair, daddr);
	OFF(addr_pair, sport_be);
	OFF(addr_pair, seq_be);
	OFF(addr_pair, cookie_be);
	OFF(addr_pair, comm);
	printf("addr_pair.family %u\n", a.family);
	ntop("addr_pair.saddr", AF_INET, &a.saddr);
	ntop("addr_pair.daddr", AF_INET6, &a.daddr);
	printf("addr_pair.sport_be %u\n", ntohs(a.sport_be));
	printf("addr_pair.seq_be %u\n", ntohl(a.seq_be));
	unsigned long long cookie_value = 0;
	memcpy(cookie, &a.cookie_be, 8);
	for (int i = 0; i < 8; i++)
		cookie_value = cookie_value << 8 | cookie[i];
	printf("addr_pair.cookie_be %llu\n", cookie_value);
	printf("addr_pair.comm %.16s\n", a.comm);

	struct packed_key p = { .a = 7, .b = 0xdeadbeef, .c = 513, .d = 1ULL << 40 };
	hex("packed_key", &p, sizeof(p));
	SIZE(packed_key);
	OFF(packed_key, b);
	OFF(packed_key, c);
	OFF(packed_key, d);
	printf("packed_key.b %u\n", p.b);
	printf("packed_key.c %u\n", p.c);
	printf("packed_key.d %llu\n", (unsigned long long)p.d);

	struct hist h = { .slots = { 1, 0, 3, 5, 0, 0, 2, 1 }, .sum = 12345 };
	hex("hist", &h, sizeof(h));
	SIZE(hist);
	OFF(hist, sum);

	struct hist32 h32 = { .slots = { 4, 1, 0, 0, 7, 2 } };
	hex("hist32", &h32, sizeof(h32));
	SIZE(hist32);

	struct hist_key keys[4];
	memset(keys, 0xaa, sizeof(keys));
	keys[0].cgroup = 100; keys[0].slot = 0;
	keys[1].cgroup = 200; keys[1].slot = 3;
	keys[2].cgroup = 100; keys[2].slot = 2;
	keys[3].cgroup = 100; keys[3].slot = 4; /* the sum slot of exp2(4) */
	hex("hist_keys", keys, sizeof(keys));
	SIZE(hist_key);
	OFF(hist_key, slot);
	return 0;
}
