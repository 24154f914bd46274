// Tail calls through a program array initialized in the object
// (`.values = { [1] = &prog }`), which libbpf fills after loading.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tails SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int tail_target(void *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&tails, &zero);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int(void *));
} jump SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int tail_caller(void *ctx)
{
	bpf_tail_call(ctx, &jump, 1);
	return 0;
}
