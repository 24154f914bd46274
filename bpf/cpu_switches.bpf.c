// SPDX-License-Identifier: GPL-2.0
// Context switches per CPU: one per-CPU counter, read with a `cpu` label
// instead of summed.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_switches SEC(".maps");

SEC("tracepoint/sched/sched_switch")
int count_switch(void *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&cpu_switches, &zero);

	if (count)
		*count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
