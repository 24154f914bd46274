// A BTF-typed tracepoint (tp_btf) written with BPF_PROG: direct loads from
// the typed arguments of sched_switch, no probe reads (runqslower's shape).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} switched_in SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 pid = next->pid;
	__u64 now = bpf_ktime_get_ns();

	if (prev->pid == next->pid)
		return 0;
	bpf_map_update_elem(&switched_in, &pid, &now, BPF_ANY);
	return 0;
}
