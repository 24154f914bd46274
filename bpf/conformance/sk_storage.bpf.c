// Socket local storage (BPF_MAP_TYPE_SK_STORAGE) from a tracing program:
// the time of each TCP state change, kept on the socket (tcplife's use).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} changed_at SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 *at = bpf_sk_storage_get(&changed_at, (struct sock *)sk, 0,
				       BPF_SK_STORAGE_GET_F_CREATE);

	if (at)
		*at = bpf_ktime_get_ns();
	return 0;
}
