// A global (non-static) subprogram: the kernel verifies it once, on its
// own, against its BTF signature (func_info), not inlined into its caller.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} by_pid SEC(".maps");

__noinline int record(__u32 pid, __u64 value)
{
	if (!pid)
		return 0;
	return bpf_map_update_elem(&by_pid, &pid, &value, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int global_call(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	record(id >> 32, (__u32)id);
	return 0;
}
