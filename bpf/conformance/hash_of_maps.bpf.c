// Map in map: a hash of maps with its inner map definition given inline
// (an anonymous struct), filled from user space at run time.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 16);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 64);
		__type(key, __u32);
		__type(value, __u64);
	});
} per_cgroup SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int hash_of_maps(void *ctx)
{
	__u32 cgroup = bpf_get_current_cgroup_id();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1;
	void *inner = bpf_map_lookup_elem(&per_cgroup, &cgroup);

	if (inner)
		bpf_map_update_elem(inner, &pid, &one, BPF_NOEXIST);
	return 0;
}
