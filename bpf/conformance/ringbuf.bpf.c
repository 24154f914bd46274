// A BPF ring buffer, written with bpf_ringbuf_reserve/submit and
// bpf_ringbuf_output, as the *snoop tools stream events.
#include "corpus.h"

struct event {
	__u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int ringbuf(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct event copy = {};

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	copy = *e;
	bpf_ringbuf_submit(e, 0);
	bpf_ringbuf_output(&events, &copy, sizeof(copy), BPF_RB_NO_WAKEUP);
	return 0;
}
