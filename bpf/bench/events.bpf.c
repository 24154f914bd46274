// SPDX-License-Identifier: GPL-2.0
// Producers as fast as the kernel goes, for the event reader's figures and
// its overload tests: one 16-byte record (pid and tgid, a timestamp) per
// getpid(2) of the thread `target_pid` (a thread id: other threads of its
// process make no records) through the ring buffer
// `events16` (records it had no room for are counted in `full[0]`), and
// per getpgid(2) through the perf event array `events16_perf` (the perf
// buffers count their own losses).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} full SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int produce(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 key = 0;
	__u64 *record, *count;

	if ((__u32)id != target_pid)
		return 0;
	record = bpf_ringbuf_reserve(&events16, 16, 0);
	if (!record) {
		count = bpf_map_lookup_elem(&full, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
		return 0;
	}
	record[0] = id;
	record[1] = bpf_ktime_get_ns();
	bpf_ringbuf_submit(record, 0);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events16_perf SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpgid")
int produce_perf(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 record[2];

	if ((__u32)id != target_pid)
		return 0;
	record[0] = id;
	record[1] = bpf_ktime_get_ns();
	bpf_perf_event_output(ctx, &events16_perf, BPF_F_CURRENT_CPU, record, sizeof(record));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
