// SPDX-License-Identifier: GPL-2.0
// Counts IPv4 packets per flow (addresses, ports, protocol) in a per-CPU
// hash. Attached as a socket filter to an AF_PACKET socket; it returns 0, so
// the socket never queues a packet. The benchmark loads ten of these (with
// the `flows` decoder) to measure the agent's start-up time and memory.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

/* 0 leaves the map to whoever fills it (the benchmark does, so the number
 * of series stays fixed while it measures memory across scrapes). */
const volatile __u32 count_traffic = 1;

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

SEC("socket")
int count_flows(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct flow_key key = {};

	if (!count_traffic || bpf_ntohs(skb->protocol) != ETH_P_IP)
		return 0;
	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0)
		return 0;
	key.saddr = ip.saddr;
	key.daddr = ip.daddr;
	key.proto = ip.protocol;
	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) {
		__be16 ports[2];

		if (bpf_skb_load_bytes_relative(skb, ip.ihl * 4, ports, sizeof(ports),
						BPF_HDR_START_NET) == 0) {
			key.sport = ports[0];
			key.dport = ports[1];
		}
	}
	__u64 *count = bpf_map_lookup_elem(&flows, &key);
	if (count) {
		*count += 1; /* per-CPU slot: no atomics needed */
		return 0;
	}
	__u64 one = 1;
	bpf_map_update_elem(&flows, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
