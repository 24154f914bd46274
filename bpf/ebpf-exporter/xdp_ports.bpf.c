// SPDX-License-Identifier: GPL-2.0
// Packets arriving on `lo`, by IPv4 destination, protocol and port, seen
// by XDP (ebpf_exporter's `xdp/<ifname>` section), in ebpf_exporter's style
// (config in host/tests/e2e/ebpf_exporter/examples.rs):
//
// - `xdp_packets_total`: by destination address (network order, for the
//   `inet_ip` decoder), destination port (host order), IP protocol and IP
//   version. Every packet passes.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "counting.h"

#define ETH_P_IP 0x0800

struct port_key {
	__u32 daddr;
	__u16 dport;
	__u8 protocol;
	__u8 version;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct port_key);
	__type(value, __u64);
} xdp_packets_total SEC(".maps");

SEC("xdp/lo")
int xdp_ports(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct port_key key = {};
	void *l4;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ihl < 5)
		return XDP_PASS;
	key.daddr = ip->daddr;
	key.protocol = ip->protocol;
	key.version = 4;
	l4 = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end)
			return XDP_PASS;
		key.dport = bpf_ntohs(udp->dest);
	} else if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return XDP_PASS;
		key.dport = bpf_ntohs(tcp->dest);
	}
	add_to(&xdp_packets_total, &key, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
