// SPDX-License-Identifier: GPL-2.0
// Latency of clock_nanosleep(2), as a power-of-two histogram of
// nanoseconds: slot i counts calls that took [2^(i-1), 2^i) ns (bcc's
// log2 histogram), and the slot after the last holds the sum.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define SLOTS 40 /* up to 2^39 ns, about 9 minutes */

/* Entry time per thread, until its exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sleep_start SEC(".maps");

/* Slot counts, then the sum of all latencies in slot SLOTS. Per-CPU, so
 * increments need no atomics; the decoder sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOTS + 1);
	__type(key, __u32);
	__type(value, __u64);
} sleep_latency_ns SEC(".maps");

/* floor(log2(v)) + 1, and 0 for 0. */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (!v)
		return 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r + 1;
}

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *count = bpf_map_lookup_elem(&sleep_latency_ns, &slot);

	if (count)
		*count += n;
}

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int sleep_enter(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&sleep_start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clock_nanosleep")
int sleep_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&sleep_start, &tid);
	__u64 delta;
	__u32 slot;

	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&sleep_start, &tid);
	slot = log2_slot(delta);
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	add(slot, 1);
	add(SLOTS, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
