// SPDX-License-Identifier: GPL-2.0
// A program in cloudflare/ebpf_exporter's style, for the tests of
// `bpfhost ebpf-exporter` (host/tests/e2e/ebpf_exporter.rs), with a config
// beside it there:
//
// - `nanosleep_latency_seconds`: clock_nanosleep(2) latency as an exp2zero
//   histogram of microseconds. Key 0 counts calls under 1 us, key i calls
//   in (2^(i-2), 2^(i-1)] us, key MAX_BUCKET everything longer; the key
//   after it holds the sum of all latencies.
// - `timer_starts_total`: kernel timers started, by the address of their
//   function (the config names it with the `ksym` decoder).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_BUCKET 26 /* 2^25 us, about 34 s */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sleep_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BUCKET + 2);
	__type(key, __u32);
	__type(value, __u64);
} nanosleep_latency_seconds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} timer_starts_total SEC(".maps");

/* ebpf_exporter's exp2zero bucket: 0 for 0, else ceil(log2(v)) + 1 (the
 * bucket whose upper bound 2^(bucket-1) is the first >= v), capped at
 * MAX_BUCKET. ceil(log2(v)) is the bit length of v - 1. */
static __always_inline __u32 exp2zero_bucket(__u64 v)
{
	__u32 bucket = 0;

	if (!v)
		return 0;
	v -= 1;
	while (v && bucket < MAX_BUCKET) {
		v >>= 1;
		bucket++;
	}
	bucket += 1;
	return bucket > MAX_BUCKET ? MAX_BUCKET : bucket;
}

static __always_inline void add(void *map, __u32 key, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(map, &key);

	if (value)
		__sync_fetch_and_add(value, n);
}

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int nanosleep_enter(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&sleep_start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clock_nanosleep")
int nanosleep_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&sleep_start, &tid);
	__u64 us;

	if (!start)
		return 0;
	us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&sleep_start, &tid);
	add(&nanosleep_latency_seconds, exp2zero_bucket(us), 1);
	add(&nanosleep_latency_seconds, MAX_BUCKET + 1, us);
	return 0;
}

SEC("tp_btf/timer_start")
int BPF_PROG(timer_start, struct timer_list *timer)
{
	__u64 function = (__u64)timer->function;
	__u64 one = 1;
	__u64 *count = bpf_map_lookup_elem(&timer_starts_total, &function);

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&timer_starts_total, &function, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
