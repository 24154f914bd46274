// A per-CPU array used as a histogram, and a per-CPU array as scratch
// space too large for the stack (the common libbpf-tools idiom).
#include "corpus.h"

#define SLOTS 27

struct scratch {
	char buf[1024];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} heap SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int write_sizes(struct trace_event_raw_sys_enter *ctx)
{
	__u32 zero = 0, slot = 0;
	__u64 size = ctx->args[2];
	struct scratch *s = bpf_map_lookup_elem(&heap, &zero);
	__u64 *count;

	if (!s)
		return 0;
	bpf_get_current_comm(s->buf, sizeof(s->buf));
	while (size > 1 && slot < SLOTS - 1) {
		size >>= 1;
		slot++;
	}
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		*count += 1;
	return 0;
}
