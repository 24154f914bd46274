// The USDT kernel tests' target, built by the test with gcc: this file
// twice, once with -DSEMAPHORE_PART (sdt.h gives either every probe of a
// file a semaphore or none). For each line on stdin it fires each probe N
// times (N = argv[1]) and prints the semaphore's value.
//   bpfhost:args  constant, register and memory arguments
//   bpfhost:small 1- and 2-byte signed arguments
//   bpfhost:sema  with a semaphore, fired only while it is non-zero
//   bpfhost:global  a global variable, `-4@bpfhost_counter(%rip)`, which
//                 libbpf's encoding cannot express
#ifdef SEMAPHORE_PART
#define _SDT_HAS_SEMAPHORES 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

#ifdef SEMAPHORE_PART

unsigned short bpfhost_sema_semaphore __attribute__((section(".probes")));

__attribute__((noinline)) void fire_sema(long i)
{
	if (*(volatile unsigned short *)&bpfhost_sema_semaphore)
		DTRACE_PROBE1(bpfhost, sema, i);
}

#else

extern unsigned short bpfhost_sema_semaphore;
void fire_sema(long i);
int bpfhost_counter;

__attribute__((noinline)) static void fire(long i)
{
	volatile int memory = (int)i * 10;
	signed char tiny = (signed char)-i;
	short wide = (short)(-100 * i);

	DTRACE_PROBE3(bpfhost, args, -7, i, memory);
	DTRACE_PROBE2(bpfhost, small, tiny, wide);
	DTRACE_PROBE1(bpfhost, global, bpfhost_counter);
	fire_sema(i);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1;
	char line[16];

	while (fgets(line, sizeof(line), stdin)) {
		for (long i = 1; i <= n; i++)
			fire(i);
		printf("%u\n", *(volatile unsigned short *)&bpfhost_sema_semaphore);
		fflush(stdout);
	}
	return 0;
}

#endif
