/*
 * A stand-in for the reference VM's guest agent (`memfd:sealed-91` in the oracle's
 * traces: nice 0, woken every 50.1 ms by a timer, runs about 15 us). Started in its own
 * session while scripts/record-oracle.sh records, it gives a scenario the background the
 * oracle was recorded with, at a random phase in each run (docs/recording.md):
 *
 *   gcc -O2 -o /tmp/agent scripts/guest-agent-standin.c
 *   setsid /tmp/agent & scripts/record-oracle.sh ...; pkill -f /tmp/agent
 */
#include <stdint.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(void)
{
	const struct timespec period = { 0, 50000000 };

	for (;;) {
		uint64_t t0;

		nanosleep(&period, 0);	/* relative, as the agent's 50.1 ms steps are */
		t0 = now_ns();
		while (now_ns() - t0 < 15000)
			;
	}
}
