#!/usr/bin/env python3
"""Measures the kernel path costs of the machine a trace was taken on, for schedsim's
cost model (docs/cost-model.md): from `trace-cmd report` text (optionally .xz) with the
sched events and the irq_vectors entry events.

  local  : sched_waking of a task on the CPU it is woken on, from an interrupt
           (a local_timer_entry on that CPU just before), to its sched_switch in that
           preempts the running task (prev_state=R): `resched_latency`.
  ipi    : sched_waking of a task on CPU A targeted at an idle CPU B to the
           call_function_single_entry (wakelist IPI) on B: `ipi_latency`.
  remote : that IPI's entry to the woken task's sched_switch on B.
  phase  : where the workload starts on the tick grid (`tick_phase`): the time from
           the last tick to rt-app's first fork of a worker thread (its clock_ref).
           The grid is the most common local_timer_entry time modulo TICK_NSEC
           (HZ=250); rt-app is the first child of the recorder's python3.

Prints each distribution (µs: n, p10, p50, p90) over every trace given.
"""
from collections import Counter
import lzma
import re
import sys

TICK_US = 4000  # HZ=250
LINE = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\d+\.\d+):\s+(\w+):\s+(.*)$')


def lines(path):
    op = lzma.open if path.endswith('.xz') else open
    with op(path, 'rt', errors='replace') as f:
        for ln in f:
            m = LINE.match(ln)
            if m:
                yield int(m.group(3)), float(m.group(4)), m.group(5), m.group(6), int(m.group(2))


def field(body, key):
    m = re.search(key + r'=(\S+)', body)
    return m.group(1) if m else None


def measure(path, out):
    last_timer = {}      # cpu -> ts of the last local_timer_entry
    curr_idle = {}       # cpu -> True when swapper runs
    pend_local = {}      # pid -> waking ts (local, from the timer interrupt)
    pend_ipi = {}        # target cpu -> (waking ts, pid)
    ipi_at = {}          # pid -> IPI entry ts
    grid = Counter()     # local_timer_entry time mod TICK_NSEC, 10 µs bins
    rtapp = None         # pid of rt-app
    start = None         # ts of rt-app's first fork
    for cpu, ts, ev, body, cur_pid in lines(path):
        if ev == 'sched_process_fork':
            if rtapp is None and field(body, 'comm').startswith('python'):
                rtapp = int(field(body, 'child_pid'))
            elif start is None and cur_pid == rtapp:
                start = ts
        if ev == 'local_timer_entry':
            grid[round(ts * 1e6) % TICK_US // 10] += 1
            last_timer[cpu] = ts
        elif ev == 'sched_waking':
            pid = int(field(body, 'pid'))
            tgt = int(field(body, 'target_cpu'))
            if tgt == cpu and ts - last_timer.get(cpu, -1) < 20e-6 and not curr_idle.get(cpu, True):
                pend_local[pid] = ts
            elif tgt != cpu and curr_idle.get(tgt, False):
                pend_ipi[tgt] = (ts, pid)
        elif ev == 'call_function_single_entry' and cpu in pend_ipi:
            t0, pid = pend_ipi.pop(cpu)
            out['ipi'].append((ts - t0) * 1e6)
            ipi_at[pid] = ts
        elif ev == 'sched_switch':
            nxt = int(field(body, 'next_pid'))
            curr_idle[cpu] = nxt == 0
            if nxt in pend_local:
                t0 = pend_local.pop(nxt)
                if field(body, 'prev_state') == 'R':
                    out['local'].append((ts - t0) * 1e6)
            if nxt in ipi_at:
                out['remote'].append((ts - ipi_at.pop(nxt)) * 1e6)
    if grid and start is not None:
        tick = grid.most_common(1)[0][0] * 10
        out['phase'].append((round(start * 1e6) - tick) % TICK_US)


def summary(v):
    if not v:
        return 'n 0'
    v = sorted(v)
    q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
    return f'n {len(v)}  p10 {q(.1):.1f}  p50 {q(.5):.1f}  p90 {q(.9):.1f}'


def main():
    out = {'local': [], 'ipi': [], 'remote': [], 'phase': []}
    for p in sys.argv[1:]:
        measure(p, out)
    for k in out:
        print(f'{k:7} {summary(out[k])}')


if __name__ == '__main__':
    main()
