// A typed `__ksym` extern: the per-CPU kernel variable `runqueues`, found
// in the kernel's BTF and read through bpf_per_cpu_ptr/bpf_this_cpu_ptr
// (as runqlen-style tools do).
#include "corpus.h"

extern const struct rq runqueues __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} running SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int typed_ksym(void *ctx)
{
	__u32 slot = 0;
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 0);
	__u64 value;

	if (!rq)
		return 0;
	value = rq->nr_running;
	bpf_map_update_elem(&running, &slot, &value, BPF_ANY);
	slot = 1;
	rq = bpf_this_cpu_ptr(&runqueues);
	value = rq->nr_running;
	bpf_map_update_elem(&running, &slot, &value, BPF_ANY);
	return 0;
}
