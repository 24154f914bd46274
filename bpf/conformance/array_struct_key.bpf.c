// An array keyed by a struct (ebpf_exporter's histogram shape: `struct
// hist_key_t { u32 bucket; }`). The kernel refuses such a key in BTF
// (arrays take a 32-bit integer); libbpf then creates the map without BTF.
#include "corpus.h"

struct hist_key_t {
	__u32 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, struct hist_key_t);
	__type(value, __u64);
} buckets SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int struct_key(void *ctx)
{
	struct hist_key_t key = { .bucket = 0 };
	__u64 *count = bpf_map_lookup_elem(&buckets, &key);

	if (count)
		*count += 1;
	return 0;
}
