// bpf-to-bpf calls: static __noinline subprograms in .text, one of them
// called from two programs and one calling another, so each program gets
// its own copy of the call graph.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

static __noinline __u64 weight(__u32 slot)
{
	return slot + 1;
}

static __noinline int bump(__u32 slot)
{
	__u64 *count = bpf_map_lookup_elem(&calls, &slot);

	if (!count)
		return 0;
	__sync_fetch_and_add(count, weight(slot));
	return 1;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid_calls(void *ctx)
{
	return bump(0) - 1;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int getpid_calls(void *ctx)
{
	return bump(1) - 1;
}
