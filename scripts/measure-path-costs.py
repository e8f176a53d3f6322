#!/usr/bin/env python3
"""Measures the kernel path costs of the machine a trace was taken on, for schedsim's
cost model (docs/cost-model.md): from `trace-cmd report` text (optionally .xz) with the
sched events and the irq_vectors entry events.

  local  : sched_waking of an RT task (prio < 100, which always preempts a fair task at
           once) on the CPU it is woken on, from an interrupt (a local_timer_entry on
           that CPU just before), to its sched_switch in that preempts the running task
           (prev_state=R): `resched_latency`.
  ipi    : sched_waking of a task on CPU A targeted at CPU B, idle for less than 1 ms,
           to the call_function_single_entry (wakelist IPI) on B: `ipi_latency`.
  remote : that IPI's entry to the woken task's sched_switch on B: `idle_wake_latency`.
  activate: sched_waking from a timer interrupt (a local_timer_entry just before) on an
           idle CPU of a task woken there, to its sched_wakeup (the wakeup's own path in
           the interrupt): `idle_timer_activate`.
  idle   : that sched_wakeup to the task's sched_switch in, under 100 µs:
           `idle_timer_latency`.
           Each is paired with the next IPI and the next switch on B, or with none.
  return : a task's sched_waking of another from a system call (the waker is not the
           idle task and not in an interrupt: no local_timer_entry just before) to the
           waker's own switch-out to sleep (prev_state=S) within 100 µs: the syscall's
           return and the user-space path to the next blocking call (`wake_return`).
  deep   : the IPI of `ipi` to a CPU idle for 1 ms or more (`deep_idle_after`), under
           500 µs: the VM's host wakes a vCPU that stopped polling. The key is the extra
           over `ipi`'s median (`deep_idle_ipi`), one step per idle time from 1, 4, 16
           and 100 ms (the longer the vCPU slept, the longer its host takes).
  balance: a busy CPU's tick (its local_timer_entry) to a sched_migrate_task that pulls a
           task to that CPU within 100 µs, no wakeup of that task in between: the
           periodic balance softirq's way from the tick to its detach_tasks
           (update_blocked_averages, the domain walk, the group statistics), taken while
           the source CPU's own tick reschedules its running task (`balance_softirq`).
  phase  : where the workload starts on the tick grid (`tick_phase`): the time from
           the last tick to rt-app's first fork of a worker thread (its clock_ref).
           The grid is the most common local_timer_entry time modulo TICK_NSEC
           (HZ=250); rt-app is the first child of the recorder's python3.

  reader : the recorder's python3 (the process that forked rt-app and reads its output
           through a pipe) from its switch-in to its switch-out to sleep, in the 30 ms
           after rt-app's `rtapp_main: event=start` marker: what it spends on each
           wakeup by a line rt-app prints (`reader_run`).

  mlock  : rt-app's `lock_pages` (`mlock_cost`): for each run with an RT thread, from
           t_zero (the clock_ref marker) to that thread's first loop (its log's first
           `start`), over the workload's thread count: mlockall faults in every thread's
           stack and buffers. Only where that time is the thread's own CPU time: not a
           DL thread (its set-up runs on its budget, throttled between periods) and not
           a workload with RT threads of different priorities (the higher one preempts
           the set-up of the lower). Needs each run's rtapp-logs.tar.xz and the
           scenario's workload.json beside it (the oracle's layout).

  kworker: each CPU's bound workqueue worker (`kworker/N:M`, not the unbound `uN:M` nor
           the highpri `N:MH`): its wakeups per CPU-second of trace (`kworker_interval`,
           an exponential of that mean: the work that wakes it comes at no steady
           period) and each run from its switch-in to its switch-out (`kworker_run`).

  kdamond: DAMON's `kdamond.0`: the median gap between its wakeups (`kdamond_interval`)
           and each run from its switch-in to its switch-out (`kdamond_run`).

Prints each distribution (µs: n, p10, p50, p90, p99, max) over every trace given, and
for the three costs the machine key: a log-normal with the sample's median and p99
(schedsim's `lognormal(mean, sd)` takes the mean and standard deviation).
"""
from collections import Counter
import json
import lzma
import os
import tarfile
import math
import re
import sys

TICK_US = 4000  # HZ=250
DEEP_STEPS = [(1e-3, 4e-3), (4e-3, 16e-3), (16e-3, 100e-3), (100e-3, 1e9)]
DEEP_IDLE = 1e-3  # s
Z99 = 2.3263  # the standard normal's 99th percentile
Z90 = 1.2816  # and its 90th
KEYS = {'local': 'resched_latency', 'ipi': 'ipi_latency', 'remote': 'idle_wake_latency',
        'idle': 'idle_timer_latency',
        'return': 'wake_return', 'reader': 'reader_run', 'mlock': 'mlock_cost',
        'balance': 'balance_softirq'}
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
    idle_since = {}      # cpu -> ts of its switch to swapper, while idle
    pend_local = {}      # pid -> waking ts (local, from the timer interrupt)
    pend_ipi = {}        # target cpu -> (waking ts, pid, deep)
    pend_ret = {}        # waker pid -> ts of its last sched_waking from a syscall
    pend_idle = {}       # cpu -> (waking ts, pid) from a timer interrupt while idle
    woke_idle = {}       # cpu -> (its sched_wakeup ts, pid)
    ipi_at = {}          # cpu -> (IPI entry ts, pid it wakes)
    woken_at = {}        # pid -> ts of its last sched_waking
    grid = Counter()     # local_timer_entry time mod TICK_NSEC, 10 µs bins
    rtapp = None         # pid of rt-app
    recorder = None      # pid of the python3 that forked it
    start = None         # ts of rt-app's first fork
    marked = None        # ts of rt-app's `rtapp_main: event=start`
    reader_in = None     # ts of the recorder's last switch-in
    for cpu, ts, ev, body, cur_pid in lines(path):
        if ev == 'sched_process_fork':
            if rtapp is None and field(body, 'comm').startswith('python'):
                rtapp = int(field(body, 'child_pid'))
                recorder = cur_pid
            elif start is None and cur_pid == rtapp:
                start = ts
        if ev == 'print' and marked is None and 'rtapp_main: event=start' in body:
            marked = ts
        if ev == 'local_timer_entry':
            grid[round(ts * 1e6) % TICK_US // 10] += 1
            last_timer[cpu] = ts
        elif ev == 'sched_waking':
            pid = int(field(body, 'pid'))
            woken_at[pid] = ts
            tgt = int(field(body, 'target_cpu'))
            if cur_pid != 0 and ts - last_timer.get(cpu, -1) >= 20e-6:
                pend_ret.setdefault(cur_pid, ts)
            if cur_pid == 0 and tgt == cpu and ts - last_timer.get(cpu, -1) < 20e-6:
                pend_idle[cpu] = (ts, pid)
            if (tgt == cpu and ts - last_timer.get(cpu, -1) < 20e-6 and cpu not in idle_since
                    and int(field(body, 'prio')) < 100):
                pend_local[pid] = ts
            elif tgt != cpu and tgt in idle_since:
                pend_ipi[tgt] = (ts, pid, ts - idle_since[tgt])
        elif ev == 'sched_migrate_task':
            t0 = last_timer.get(cpu, -1)
            if (cur_pid != 0 and field(body, 'dest_cpu') == str(cpu)
                    and field(body, 'orig_cpu') != str(cpu) and ts - t0 < 100e-6
                    and woken_at.get(int(field(body, 'pid')), -1) < t0):
                out['balance'].append((ts - t0) * 1e6)
        elif ev == 'sched_wakeup' and cpu in pend_idle:
            t0, pid = pend_idle.pop(cpu)
            if pid == int(field(body, 'pid')):
                out['activate'].setdefault(cpu, []).append((ts - t0) * 1e6)
                woke_idle[cpu] = (ts, pid)
        elif ev == 'call_function_single_entry' and cpu in pend_ipi:
            t0, pid, idle = pend_ipi.pop(cpu)
            if idle >= DEEP_IDLE:
                out['deep'].append((idle, (ts - t0) * 1e6))
            else:
                out['ipi'].append((ts - t0) * 1e6)
                ipi_at[cpu] = (ts, pid)
        elif ev == 'sched_switch':
            nxt = int(field(body, 'next_pid'))
            prev = int(field(body, 'prev_pid'))
            if marked is not None and ts - marked < 30e-3:
                if nxt == recorder:
                    reader_in = ts
                elif prev == recorder and reader_in is not None:
                    if field(body, 'prev_state') == 'S':
                        out['reader'].append((ts - reader_in) * 1e6)
                    reader_in = None
            pend_idle.pop(cpu, None)
            t0, woken = woke_idle.pop(cpu, (None, None))
            if woken == nxt and ts - t0 < 100e-6:
                out['idle'].append((ts - t0) * 1e6)
            t0 = pend_ret.pop(prev, None)
            if t0 is not None and field(body, 'prev_state') == 'S' and ts - t0 < 100e-6:
                out['return'].append((ts - t0) * 1e6)
            # A wakeup is paired with the IPI and the switch that follow it on its CPU,
            # or with none.
            pend_ipi.pop(cpu, None)
            t0, pid = ipi_at.pop(cpu, (None, None))
            if pid == nxt:
                out['remote'].append((ts - t0) * 1e6)
            if nxt == 0:
                idle_since[cpu] = ts
            else:
                idle_since.pop(cpu, None)
            if nxt in pend_local:
                t0 = pend_local.pop(nxt)
                if field(body, 'prev_state') == 'R':
                    out['local'].append((ts - t0) * 1e6)
    if grid and start is not None:
        tick = grid.most_common(1)[0][0] * 10
        out['phase'].append((round(start * 1e6) - tick) % TICK_US)


BOUND_KWORKER = re.compile(r'kworker/\d+:\d+$')   # a CPU's bound worker, not uN:M nor :NH


def kthreads(path, out):
    """The background kthreads (see `kworker`, `kdamond`): the bound workers' wakeups and
    the CPU-seconds traced, kdamond's gaps between wakeups (ms), and each one's runs from
    its switch-in to its switch-out (µs)."""
    first = last = None
    cpus = set()
    on = {}
    woke = None
    for cpu, ts, ev, body, _ in lines(path):
        first = ts if first is None else first
        last = ts
        cpus.add(cpu)
        if ev == 'sched_wakeup':
            comm = field(body, 'comm') or ''
            if BOUND_KWORKER.match(comm):
                out['kworker_wakeups'] += 1
            elif comm == 'kdamond.0':
                if woke is not None:
                    out['kdamond_gaps'].append((ts - woke) * 1e3)
                woke = ts
        elif ev == 'sched_switch':
            prev = field(body, 'prev_comm') or ''
            nxt = field(body, 'next_comm') or ''
            kind = 'kworker' if BOUND_KWORKER.match(prev) else prev
            if kind in ('kworker', 'kdamond.0') and cpu in on:
                out[kind.split('.')[0]].append((ts - on.pop(cpu)) * 1e6)
            if BOUND_KWORKER.match(nxt) or nxt == 'kdamond.0':
                on[cpu] = ts
    if first is not None:
        out['kworker_cpu_s'] += (last - first) * len(cpus)


def mlock(path, out):
    """The first RT thread's set-up per thread of the workload, µs (see `mlock`)."""
    run = os.path.dirname(path)
    logs = os.path.join(run, 'rtapp-logs.tar.xz')
    wl_path = os.path.join(os.path.dirname(run), 'workload.json')
    if not (os.path.exists(logs) and os.path.exists(wl_path)):
        return
    wl = json.load(open(wl_path))
    default = wl['global'].get('default_policy', 'SCHED_OTHER')
    tasks = wl['tasks']
    nthreads = sum(t.get('instance', 1) for t in tasks.values())
    rt = [t for t in tasks.values() if t.get('policy', default) in ('SCHED_FIFO', 'SCHED_RR')]
    if any(t.get('policy', default) == 'SCHED_DEADLINE' for t in tasks.values()):
        return
    if len({t.get('priority') for t in rt}) > 1:
        return
    t_zero = None
    for _, _, ev, body, _ in lines(path):
        m = re.search(r'clock_ref data=(\d+)', body)
        if ev == 'print' and m:
            t_zero = int(m.group(1))
            break
    if t_zero is None or not wl['global'].get('lock_pages', True):
        return
    firsts = []
    with tarfile.open(logs) as tf:
        for mem in tf.getmembers():
            task = re.sub(r'-\d+$', '', os.path.basename(mem.name)[len('rtapp-'):-len('.log')])
            spec = tasks.get(task, {})
            if spec.get('policy', default) not in ('SCHED_FIFO', 'SCHED_RR'):
                continue
            if spec.get('delay', 0):
                continue
            rows = [r for r in tf.extractfile(mem).read().decode().splitlines()
                    if r.strip() and not r.startswith('#')]
            if rows:
                firsts.append(int(rows[0].split()[4]) - t_zero)
    if firsts:
        out['mlock'].append(min(firsts) / nthreads)


def quantile(v, p):
    return v[min(len(v) - 1, int(p * len(v)))]


def summary(v):
    if not v:
        return 'n 0'
    v = sorted(v)
    qs = '  '.join(f'p{round(p * 100)} {quantile(v, p):.1f}' for p in (.1, .5, .9, .99))
    return f'n {len(v)}  {qs}  max {v[-1]:.1f}'


def lognormal(v, q=.99, z=None):
    """`lognormal(mean, sd)` with the sample's median and its `q` quantile (p99 unless
    the sample is too small for one: then p90, `z` = Z90)."""
    v = sorted(v)
    p50, pq = quantile(v, .5), quantile(v, q)
    sigma = math.log(pq / p50) / (z or Z99)
    mean = p50 * math.exp(sigma * sigma / 2)
    sd = mean * math.sqrt(math.exp(sigma * sigma) - 1)
    return f'lognormal({mean:.1f}us, {sd:.1f}us)'


def main():
    out = {'local': [], 'ipi': [], 'balance': [], 'remote': [], 'activate': {}, 'idle': [], 'return': [], 'deep': [],
           'phase': [],
           'reader': [],
           'mlock': [],
           'kworker': [],
           'kdamond': []}
    out_kt = {'kworker': out['kworker'], 'kdamond': out['kdamond'], 'kdamond_gaps': [],
              'kworker_wakeups': 0, 'kworker_cpu_s': 0.0}
    for p in sys.argv[1:]:
        measure(p, out)
        mlock(p, out)
        kthreads(p, out_kt)
    deep = [(idle, d) for idle, d in out['deep'] if d < 500]
    out['deep'] = [d for _, d in deep]
    # The VM's CPUs leave idle for a timer's wakeup at different speeds: one cost a CPU.
    by_cpu = out.pop('activate')
    costs = [f'{c}:{lognormal(v)}' for c, v in sorted(by_cpu.items())]
    for c, v in sorted(by_cpu.items()):
        print(f'activate cpu {c} {summary(v)}')
    if costs:
        print(f"   -> idle_timer_activate={costs[0].split(':', 1)[1]};{';'.join(costs[1:])}")
    for k in out:
        # A dozen runs give mlock no p99 of its own, nor do the few dozen of kdamond's runs
        # or of the balance pulls: fit them on the p90.
        fit = (lambda v: lognormal(v, .9, Z90)) if k in ('mlock', 'kdamond', 'balance') else lognormal
        key = f'   -> {KEYS[k]}={fit(out[k])}' if k in KEYS and out[k] else ''
        if k == 'deep' and out['deep'] and out['ipi']:
            base = quantile(sorted(out['ipi']), .5)
            steps = []
            for lo, hi in DEEP_STEPS:
                extra = [max(d - base, 1.0) for idle, d in deep if lo <= idle < hi]
                if extra:
                    # Tens to a few hundred samples a step: fit on the p90.
                    cost = lognormal(extra, .9, Z90)
                    steps.append(cost if not steps else f'{lo * 1e3:g}ms:{cost}')
                    print(f'  deep {lo * 1e3:g}-{hi * 1e3:g} ms {summary(extra)}')
            key = f'   -> deep_idle_after=1ms,deep_idle_ipi={";".join(steps)}'
        if k == 'phase' and out[k]:
            v = sorted(out[k])
            p10, p50, p90 = (quantile(v, q) / 1e3 for q in (.1, .5, .9))
            # The median, or the spread as a normal with the p10-p90 width (docs/cost-model.md).
            key = (f'   -> tick_phase={p50:.2f}ms '
                   f'(or tick_phase=normal({p50:.2f}ms, {(p90 - p10) / 2.563:.2f}ms))')
        if k == 'kworker' and out_kt['kworker_cpu_s']:
            rate = out_kt['kworker_wakeups'] / out_kt['kworker_cpu_s']
            print(f"kworker wakeups {out_kt['kworker_wakeups']} over "
                  f"{out_kt['kworker_cpu_s']:.1f} CPU-s: {rate:.2f} per CPU-second")
            key = f'   -> kworker_interval=exp({1e3 / rate:.0f}ms),kworker_run={lognormal(out[k])}'
        if k == 'kdamond' and out_kt['kdamond_gaps'] and out[k]:
            gaps = sorted(out_kt['kdamond_gaps'])
            print(f"kdamond gaps ms {summary(gaps)}")
            key = f'   -> kdamond_interval={quantile(gaps, .5):.0f}ms,kdamond_run={fit(out[k])}'
        print(f'{k:7} {summary(out[k])}{key}')


if __name__ == '__main__':
    main()
