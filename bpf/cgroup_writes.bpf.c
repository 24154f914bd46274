// SPDX-License-Identifier: GPL-2.0
// write(2) calls per cgroup (v2 id); the decoder turns the id into
// Kubernetes namespace, pod and container with the agent's lookups.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} writes_by_cgroup SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int count_cgroup_writes(void *ctx)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u64 one = 1, *count = bpf_map_lookup_elem(&writes_by_cgroup, &id);

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&writes_by_cgroup, &id, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
