// SPDX-License-Identifier: GPL-2.0
// How long softirq handlers run, by kind, as an exp2 histogram of
// microseconds, in ebpf_exporter's style (config in
// host/tests/e2e/ebpf_exporter/examples.rs):
//
// - `softirq_service_seconds`: key {kind, bucket}; bucket b counts handler
//   runs of at most 2^b us (b = 0 for under 1 us), capped at MAX_BUCKET;
//   bucket MAX_BUCKET + 1 holds the sum of the run times in us; per-CPU
//   values.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counting.h"

#define MAX_BUCKET 20 /* 2^20 us, about 1 s */

struct latency_key {
	__u32 kind;
	__u32 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} entered_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 10 * (MAX_BUCKET + 2));
	__type(key, struct latency_key);
	__type(value, __u64);
} softirq_service_seconds SEC(".maps");

/* exp2: the smallest b with 2^b >= v, capped. */
static __always_inline __u32 exp2_bucket(__u64 v)
{
	__u32 bucket = 0;

	while (bucket < MAX_BUCKET && (1ULL << bucket) < v)
		bucket++;
	return bucket;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec)
{
	__u32 zero = 0;
	__u64 *at = bpf_map_lookup_elem(&entered_at, &zero);

	if (at)
		*at = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit, unsigned int vec)
{
	__u32 zero = 0;
	__u64 *at = bpf_map_lookup_elem(&entered_at, &zero);
	struct latency_key key = {};
	__u64 us;

	if (!at || !*at)
		return 0;
	us = (bpf_ktime_get_ns() - *at) / 1000;
	*at = 0;
	key.kind = vec;
	key.bucket = exp2_bucket(us);
	add_to(&softirq_service_seconds, &key, 1);
	key.bucket = MAX_BUCKET + 1;
	add_to(&softirq_service_seconds, &key, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
