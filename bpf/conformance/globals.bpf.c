// Global variables in the three sections libbpf maps for them: `const
// volatile` in .rodata (frozen), initialized in .data, zeroed in .bss,
// including a struct and an array.
#include "corpus.h"

const volatile __u32 target_tgid = 0;
const volatile struct {
	__u32 min;
	__u32 max;
} bounds = { 1, 1000 };
__u64 seen = 1;
__u64 per_cpu_slot[8];
char last_comm[16];

SEC("tracepoint/syscalls/sys_enter_getppid")
int globals(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 cpu = bpf_get_smp_processor_id();

	if (target_tgid && tgid != target_tgid)
		return 0;
	if (tgid < bounds.min || tgid > bounds.max * 1000000)
		return 0;
	__sync_fetch_and_add(&seen, 1);
	if (cpu < 8)
		per_cpu_slot[cpu]++;
	bpf_get_current_comm(last_comm, sizeof(last_comm));
	return 0;
}
