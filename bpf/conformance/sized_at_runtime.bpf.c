// Maps left at max_entries 0 for user space to size before loading
// (libbpf-tools' bpf_map__set_max_entries). Unsized, the kernel refuses
// them: libbpf and bpfhost alike (bpfhost's `maps:` sizes them).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int unsized(void *ctx)
{
	__u32 id = bpf_get_stackid(ctx, &stacks, 0);
	__u64 one = 1;

	bpf_map_update_elem(&counts, &id, &one, BPF_ANY);
	return 0;
}
