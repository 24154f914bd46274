// Kernel functions called from BPF (kfuncs), declared as `__ksym`
// function externs: bpf_rcu_read_lock/unlock around a walk of RCU-protected
// task pointers, as newer tools do.
#include "corpus.h"

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} parent_of SEC(".maps");

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid, ppid;

	bpf_rcu_read_lock();
	pid = child->tgid;
	ppid = parent->real_parent->tgid;
	bpf_rcu_read_unlock();
	bpf_map_update_elem(&parent_of, &pid, &ppid, BPF_ANY);
	return 0;
}
