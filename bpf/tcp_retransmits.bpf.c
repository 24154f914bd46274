// SPDX-License-Identifier: GPL-2.0
// TCP retransmits with their addresses: one record per retransmitted
// segment, output to the perf event array `retransmits` on the CPU that
// retransmitted it.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10

struct retransmit_event {
	__u16 family;
	__u16 sport; /* host byte order, as the tracepoint gives them */
	__u16 dport;
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	/* max_entries left 0: one slot per possible CPU, as libbpf sizes it */
} retransmits SEC(".maps");

/*
 * The tracepoint's record, from
 * /sys/kernel/tracing/events/tcp/tcp_retransmit_skb/format: its layout has
 * been the same since 4.16 (later kernels append fields), whatever the
 * kernel's BTF names the struct (tcp_event_sk_skb, tcp_retransmit_skb).
 */
struct tcp_retransmit_skb_args {
	__u64 common;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

SEC("tracepoint/tcp/tcp_retransmit_skb")
int on_retransmit(struct tcp_retransmit_skb_args *ctx)
{
	struct retransmit_event event = {};

	event.family = ctx->family;
	event.sport = ctx->sport;
	event.dport = ctx->dport;
	/* The verifier refuses copies through a pointer derived from ctx. */
	if (event.family == AF_INET) {
		bpf_probe_read_kernel(event.saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(event.daddr, 4, ctx->daddr);
	} else if (event.family == AF_INET6) {
		bpf_probe_read_kernel(event.saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(event.daddr, 16, ctx->daddr_v6);
	} else {
		return 0;
	}
	bpf_perf_event_output(ctx, &retransmits, BPF_F_CURRENT_CPU, &event, sizeof(event));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
