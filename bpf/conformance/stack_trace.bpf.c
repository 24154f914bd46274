// A stack trace map, sized in the object, filled by bpf_get_stackid with
// kernel and user stacks, keyed into a hash by the stack ids (offcputime's
// shape).
#include "corpus.h"

#define MAX_DEPTH 127

struct stack_key {
	__u32 pid;
	__s32 kernel_stack;
	__s32 user_stack;
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int stack(struct trace_event_raw_sys_enter *ctx)
{
	struct stack_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.kernel_stack = bpf_get_stackid(ctx, &stacks, 0),
		.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK),
	};
	__u64 one = 1, *count = bpf_map_lookup_elem(&counts, &key);

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}
