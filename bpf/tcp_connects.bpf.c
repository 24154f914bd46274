// SPDX-License-Identifier: GPL-2.0
// Outbound TCP connections by destination: counts sockets that move from
// SYN_SENT to ESTABLISHED (active opens), keyed by address family,
// destination address and port.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2

struct connect_key {
	__u16 family;
	__be16 dport; /* network byte order */
	__u8 daddr[16]; /* IPv4 in the first 4 bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct connect_key);
	__type(value, __u64);
} tcp_connects SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int count_connects(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct connect_key key = {};
	__u64 one = 1, *count;

	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_SYN_SENT ||
	    ctx->newstate != TCP_ESTABLISHED)
		return 0;
	key.family = ctx->family;
	/* The tracepoint gives the port in host order. */
	key.dport = bpf_htons(ctx->dport);
	/* The verifier refuses copies through a pointer derived from ctx. */
	if (ctx->family == AF_INET)
		bpf_probe_read_kernel(key.daddr, 4, ctx->daddr);
	else if (ctx->family == AF_INET6)
		bpf_probe_read_kernel(key.daddr, 16, ctx->daddr_v6);
	else
		return 0;
	count = bpf_map_lookup_elem(&tcp_connects, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&tcp_connects, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
