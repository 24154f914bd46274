// Callback subprograms passed to helpers by address: bpf_loop and
// bpf_for_each_map_elem (a ld_imm64 of a function, not a call).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

struct sum {
	__u64 total;
};

static long add_slot(__u32 index, void *ctx)
{
	struct sum *sum = ctx;
	__u32 slot = index;
	__u64 *value = bpf_map_lookup_elem(&values, &slot);

	if (value)
		sum->total += *value;
	return 0;
}

static long add_entry(struct bpf_map *map, __u32 *key, __u64 *value, struct sum *sum)
{
	sum->total += *value;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int callbacks(void *ctx)
{
	struct sum by_loop = {}, by_walk = {};
	__u32 last = 7;

	bpf_loop(8, add_slot, &by_loop, 0);
	bpf_for_each_map_elem(&values, add_entry, &by_walk, 0);
	by_loop.total += by_walk.total;
	bpf_map_update_elem(&values, &last, &by_loop.total, BPF_ANY);
	return 0;
}
