// CO-RE reads through nested structs and pointers: task->real_parent->tgid,
// task->mm->arg_start, task->nsproxy->pid_ns_for_children->ns.inum, the
// chains BPF_CORE_READ spells and libbpf-tools use everywhere.
#include "corpus.h"

struct ids {
	__u32 ppid;
	__u32 pidns;
	__u64 arg_start;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ids);
} ids_by_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int nested(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct ids ids = {
		.ppid = BPF_CORE_READ(task, real_parent, tgid),
		.pidns = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum),
		.arg_start = BPF_CORE_READ(task, mm, arg_start),
	};

	bpf_map_update_elem(&ids_by_pid, &pid, &ids, BPF_ANY);
	return 0;
}
