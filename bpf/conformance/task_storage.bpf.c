// Task local storage (BPF_MAP_TYPE_TASK_STORAGE, BPF_F_NO_PREALLOC),
// created on first use from a tp_btf program's task pointers.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} switches SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(count_switches, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *count = bpf_task_storage_get(&switches, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
