#!/usr/bin/env bash
# Records an rt-app workload on this (real) Linux machine, N times, with the sched trace
# events, and saves the runs in the layout of ../shared/oracle so `schedsim validate` can
# compare schedsim against them:
#
#   DIR/workload.json  DIR/scenario.json (created if missing)  DIR/summary.json
#   DIR/runK/report.txt.xz (trace-cmd report -N)  DIR/runK/metrics.json  DIR/runK/run.json
#   DIR/runK/rtapp-logs.tar.xz  DIR/runK/cgroup_stats.json (cpu.stat before, after and delta of the scenario's "cgroups")
#
# Usage: sudo scripts/record-oracle.sh WORKLOAD.json DIR [REPEATS=3] [ANALYZE=../shared/oracle/analyze.py]
# RTAPP names the rt-app binary (default rt-app: Debian's 1.0; the oracle used upstream's,
# e.g. RTAPP=rt-app-git).
# Needs: root, tracefs, rt-app, trace-cmd, xz, python3. Tracing is set up by hand through
# tracefs (as the oracle was: `trace-cmd record` is refused on some VMs), then read back with
# `trace-cmd extract` and `trace-cmd report -N`. Sysctls or cgroups a scenario needs go in
# scenario.json's "setup" list; they are run before each repeat and "teardown" after.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
WL=$(realpath "$1"); DIR=$2; N=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ANALYZE=${4:-$HERE/../../shared/oracle/analyze.py}
[ "$(id -u)" = 0 ] || { echo "record-oracle: must run as root" >&2; exit 2; }
RTAPP=${RTAPP:-rt-app}
for t in "$RTAPP" trace-cmd xz python3; do
  command -v $t >/dev/null || { echo "record-oracle: $t is missing (apt-get install $t)" >&2; exit 2; }
done
[ -f "$ANALYZE" ] || { echo "record-oracle: analyze.py not found at $ANALYZE" >&2; exit 2; }
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T
# Debian's rt-app 1.0 writes its markers through debugfs (/sys/kernel/debug/tracing).
[ -e /sys/kernel/debug/tracing ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
# The oracle's event list. The irq vectors matter: on the VM no event is recorded from the
# process context of CPU 1's idle task (every `sched_switch prev=swapper/1` is lost), and
# analyze.py infers those switch-ins from the next event in the task's context, which for a
# hog is often only its tick (local_timer_entry).
EVENTS="sched/sched_switch sched/sched_wakeup sched/sched_waking sched/sched_wakeup_new
  sched/sched_migrate_task sched/sched_process_fork sched/sched_process_exit
  sched/sched_wake_idle_without_ipi irq_vectors/reschedule_entry
  irq_vectors/call_function_single_entry irq_vectors/call_function_entry
  irq_vectors/local_timer_entry"

mkdir -p "$DIR"; DIR=$(realpath "$DIR")
cp "$WL" "$DIR/workload.json"
if [ ! -f "$DIR/scenario.json" ]; then
  python3 - "$DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
w = json.load(open(os.path.join(d, 'workload.json')))
names = '|'.join(sorted(w['tasks']))
json.dump({'name': os.path.basename(d), 'title': 'recorded with scripts/record-oracle.sh',
           'setup': [], 'teardown': [], 'headline': [], 'skip_ms': 100,
           'task_regex': '^(%s)(-\\d+(-\\d+)?)?$' % names}, open(os.path.join(d, 'scenario.json'), 'w'), indent=1)
PY
fi
# The cpu.stat counters of the scenario's "cgroups" (v1 cpu controller paths), read before
# and after a run into runK/cgroup_stats.json as the oracle kept them.
cpu_stat() {
  python3 - "$DIR/scenario.json" "$1" "${2:-}" <<'PY'
import json, sys
scen, out, before = sys.argv[1], sys.argv[2], sys.argv[3]
keys = ('nr_periods', 'nr_throttled', 'throttled_time', 'nr_bursts', 'burst_time')
def read(g):
    try:
        kv = dict(l.split() for l in open('/sys/fs/cgroup/cpu/%s/cpu.stat' % g))
    except OSError:
        return None
    return {k: int(kv.get(k, 0)) for k in keys}
now = {g: read(g) for g in json.load(open(scen)).get('cgroups', [])}
if not before:
    json.dump(now, open(out, 'w'))
else:
    b = json.load(open(before))
    res = {g: {'before': b[g], 'after': a, 'delta': {k: a[k] - b[g][k] for k in keys}}
           for g, a in now.items() if a is not None and b.get(g) is not None}
    json.dump(res, open(out, 'w'), indent=1)
PY
}
shell_list() { python3 -c "import json,sys; [print(l) for l in json.load(open(sys.argv[1])).get(sys.argv[2], [])]" "$DIR/scenario.json" "$1"; }

for k in $(seq 1 "$N"); do
  R="$DIR/run$k"; rm -rf "$R"; mkdir -p "$R"
  shell_list setup | while read -r line; do bash -c "$line"; done
  echo 0 > $T/tracing_on
  echo > $T/trace
  echo 32768 > $T/buffer_size_kb
  echo > $T/set_event
  for e in $EVENTS; do echo 1 > $T/events/$e/enable; done
  echo 1 > $T/tracing_on
  cpu_stat "$R/.cpu_stat_before"
  start=$(date +%s.%N)
  (cd "$R" && "$RTAPP" "$DIR/workload.json" > rtapp_stdout.txt 2>&1) || echo "record-oracle: $RTAPP failed, see $R/rtapp_stdout.txt" >&2
  end=$(date +%s.%N)
  echo 0 > $T/tracing_on
  cpu_stat "$R/cgroup_stats.json" "$R/.cpu_stat_before"; rm -f "$R/.cpu_stat_before"
  (cd "$R" && trace-cmd extract -o trace.dat >/dev/null 2>&1 && trace-cmd report -N -i trace.dat > report.txt 2>/dev/null)
  rm -f "$R/trace.dat"
  for e in $EVENTS; do echo 0 > $T/events/$e/enable; done
  shell_list teardown | while read -r line; do bash -c "$line" || true; done
  printf '{"command": "'"$RTAPP"' workload.json", "start": %s, "end": %s, "kernel": "%s"}\n' \
    "$start" "$end" "$(uname -r)" > "$R/run.json"
  xz -f "$R/report.txt"
  # rt-app's per-thread logs, packed as the oracle keeps them.
  (cd "$R" && ls rtapp-*.log >/dev/null 2>&1 && tar cJf rtapp-logs.tar.xz rtapp-*.log && rm -f rtapp-*.log) || true
  echo "run $k: $(xz -dc "$R/report.txt.xz" | wc -l) trace lines"
done
python3 "$ANALYZE" --scenario "$DIR" >/dev/null
echo "recorded $N runs in $DIR (summary.json written)"
