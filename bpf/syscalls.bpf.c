// SPDX-License-Identifier: GPL-2.0
// System calls by number, from the raw_syscalls/sys_enter tracepoint; the
// decoder names them with the agent's syscall lookup.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} syscalls_by_nr SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscall(struct trace_event_raw_sys_enter *ctx)
{
	__u32 nr = (__u32)ctx->id;
	__u64 one = 1, *count = bpf_map_lookup_elem(&syscalls_by_nr, &nr);

	if (count)
		*count += 1;
	else
		bpf_map_update_elem(&syscalls_by_nr, &nr, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
