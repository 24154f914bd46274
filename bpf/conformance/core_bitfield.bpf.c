// CO-RE bitfield reads: BPF_CORE_READ_BITFIELD_PROBED on a task_struct
// bitfield reached through a plain pointer, and BPF_CORE_READ_BITFIELD on
// an sk_buff bitfield reached through a BTF pointer (tp_btf argument).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} bits SEC(".maps");

static __always_inline void add(__u32 slot, __u64 value)
{
	__u64 *total = bpf_map_lookup_elem(&bits, &slot);

	if (total)
		__sync_fetch_and_add(total, value);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int task_bits(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	add(0, BPF_CORE_READ_BITFIELD_PROBED(task, in_execve));
	add(1, BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork));
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(skb_bits, struct sk_buff *skb)
{
	add(2, BPF_CORE_READ_BITFIELD(skb, cloned));
	add(3, BPF_CORE_READ_BITFIELD(skb, pkt_type));
	return 0;
}
