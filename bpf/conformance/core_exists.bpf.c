// CO-RE facts about the kernel's types rather than reads:
// bpf_core_field_exists, bpf_core_type_exists, bpf_core_enum_value(_exists),
// bpf_core_type_size and bpf_core_field_size, as tools branch on them
// across kernel versions (e.g. task_struct's `__state` vs `state`).
#include "corpus.h"

/* An older kernel's spelling, for the field_exists check. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* A type no kernel has. */
struct bpfhost_no_such_type {
	int x;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} facts SEC(".maps");

static __always_inline void set(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&facts, &slot, &value, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int exists(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct___old *old = (void *)task;
	__u64 state;

	if (bpf_core_field_exists(task->__state))
		state = BPF_CORE_READ(task, __state);
	else
		state = BPF_CORE_READ(old, state);
	set(0, state);
	set(1, bpf_core_field_exists(old->state));
	set(2, bpf_core_type_exists(struct task_struct));
	set(3, bpf_core_type_exists(struct bpfhost_no_such_type));
	set(4, bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF));
	set(5, bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_TASK_STORAGE));
	set(6, bpf_core_type_size(struct task_struct));
	set(7, bpf_core_field_size(task->comm));
	return 0;
}
