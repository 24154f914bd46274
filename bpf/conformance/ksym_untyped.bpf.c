// Untyped `__ksym` externs: addresses from /proc/kallsyms (`_stext`, the
// start of kernel text), and a weak one no kernel has, which resolves to 0.
#include "corpus.h"

extern const void _stext __ksym;
extern const void bpfhost_no_such_symbol __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} addresses SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int untyped_ksym(void *ctx)
{
	__u32 slot = 0;
	__u64 value = (__u64)&_stext;

	bpf_map_update_elem(&addresses, &slot, &value, BPF_ANY);
	slot = 1;
	value = (__u64)&bpfhost_no_such_symbol;
	bpf_map_update_elem(&addresses, &slot, &value, BPF_ANY);
	return 0;
}
