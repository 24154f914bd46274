// SPDX-License-Identifier: GPL-2.0
// Counts packets seen on the host per IP protocol number (IPv4 protocol or
// IPv6 next header). Attached as a socket filter to an AF_PACKET socket; it
// returns 0, so the socket itself never queues a packet.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} packets_by_proto SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	__u8 proto = 0;
	__u32 offset;

	switch (bpf_ntohs(skb->protocol)) {
	case ETH_P_IP:
		offset = offsetof(struct iphdr, protocol);
		break;
	case ETH_P_IPV6:
		offset = offsetof(struct ipv6hdr, nexthdr);
		break;
	default:
		return 0;
	}
	/* Offsets relative to the network header work on links with and
	 * without a link-layer header (ethernet, loopback, tun). */
	if (bpf_skb_load_bytes_relative(skb, offset, &proto, sizeof(proto),
					BPF_HDR_START_NET) < 0)
		return 0;

	__u32 key = proto;
	__u64 *count = bpf_map_lookup_elem(&packets_by_proto, &key);
	if (count)
		*count += 1; /* per-CPU slot: no atomics needed */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
