// Custom global sections: `SEC(".data.NAME")` and `SEC(".rodata.NAME")`
// variables, which libbpf turns into maps of their own (used to size
// arrays at load time), and the mergeable string section (.rodata.str1.1)
// bpf_printk's format strings land in. (libbpf 1.1 has no `.bss.NAME`.)
#include "corpus.h"

__u64 counters[4] SEC(".data.counters") = { 0, 0, 0, 0 };
const volatile __u32 stride SEC(".rodata.tuning") = 2;

SEC("tracepoint/syscalls/sys_enter_getppid")
int sections(void *ctx)
{
	__u32 slot = (bpf_get_current_pid_tgid() >> 32) % 4;

	counters[slot] += stride;
	if (counters[slot] > (1ULL << 62))
		bpf_printk("counter %u wrapped", slot);
	return 0;
}
