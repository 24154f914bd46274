// `.kconfig` externs: libbpf's own (LINUX_KERNEL_VERSION,
// LINUX_HAS_SYSCALL_WRAPPER), a tristate, an integer, a string, and weak
// ones the kernel config does not set.
#include "corpus.h"

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern enum libbpf_tristate CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern bool CONFIG_BPFHOST_NO_SUCH_OPTION __kconfig __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

static __always_inline void set(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&values, &slot, &value, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int kconfig(void *ctx)
{
	set(0, LINUX_KERNEL_VERSION);
	set(1, LINUX_HAS_SYSCALL_WRAPPER);
	set(2, CONFIG_BPF_SYSCALL == TRI_YES);
	set(3, CONFIG_HZ);
	set(4, CONFIG_LOCALVERSION[0] + CONFIG_BPFHOST_NO_SUCH_OPTION);
	return 0;
}
