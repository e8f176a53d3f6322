/*
 * How fast a CPU of this machine runs a fixed busy loop right after it has been idle, by idle
 * time: for each idle time, sleep that long, then time 200 chunks of 300,000 additions
 * (about 0.1 ms each on a warm reference VM) and print the chunks' times in ms, by 20s
 * (ms from the wakeup: 0-2, 2-4...). On the reference VM the speed is not one figure: it
 * flips between two states (about 0.094 and 0.22 ms a chunk) over tens of milliseconds, with
 * the host's load, and right after an idle of 20 ms or more it was often the slow one
 * (docs/cost-model.md, "The VM's CPU speed"). Run it before recording: a recording made in
 * the slow state measures the host, not the scheduler.
 *
 *   cc -O1 -o /tmp/warmup scripts/measure-cpu-warmup.c && taskset -c 1 /tmp/warmup
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void)
{
	const int idles_ms[] = { 1, 5, 20, 100, 500 };
	for (unsigned k = 0; k < sizeof(idles_ms) / sizeof(idles_ms[0]); k++) {
		for (int rep = 0; rep < 3; rep++) {
			usleep(idles_ms[k] * 1000);
			double chunk[200];
			for (int c = 0; c < 200; c++) {
				double a = now_ms();
				volatile unsigned long x = 0;
				for (unsigned long i = 0; i < 300000UL; i++)
					x += i;
				chunk[c] = now_ms() - a;
			}
			printf("idle %3d ms:", idles_ms[k]);
			for (int c = 0; c < 200; c += 20) {
				double s = 0;
				for (int j = c; j < c + 20; j++)
					s += chunk[j];
				printf(" %.3f", s / 20);
			}
			printf("\n");
		}
	}
	return 0;
}
