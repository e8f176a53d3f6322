# Scores one schedsim trace the way the oracle scores the real kernel's: analyze.py's
# metrics, then every headline expression of scenario.json. Prints {name: value|null}.
# Run by `schedsim validate` as: python3 - SCENARIO_DIR TRACE CGROUP_STATS ANALYZER_DIR
import json, math, os, sys

scen, trace = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.abspath(sys.argv[4]))
import analyze  # noqa: E402  (../shared/oracle/analyze.py, or validate's --analyzer)

meta = json.load(open(os.path.join(scen, 'scenario.json')))
m = analyze.analyze(trace, task_re=meta.get('task_regex'), skip_ms=meta.get('skip_ms', 0))
if len(sys.argv) > 3 and os.path.exists(sys.argv[3]):
    m['cgroups'] = json.load(open(sys.argv[3]))  # as analyze.py reads cgroup_stats.json
out = {}
for h in meta.get('headline', []):
    try:
        v = eval(h['expr'], {'G': m['groups'], 'T': m['tasks'], 'M': m, 'math': math})
        out[h['name']] = float(v)
    except Exception as e:  # the trace lacks what the expression reads
        out[h['name']] = None
print(json.dumps(out))
