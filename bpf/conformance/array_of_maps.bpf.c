// Map in map: an array of maps whose inner map is defined in the BTF
// (`__array(values, ...)`), one slot filled statically (`.values`).
#include "corpus.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a },
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int array_of_maps(void *ctx)
{
	__u32 slot = 0;
	void *inner = bpf_map_lookup_elem(&outer, &slot);
	__u64 *count;

	if (!inner)
		return 0;
	count = bpf_map_lookup_elem(inner, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
