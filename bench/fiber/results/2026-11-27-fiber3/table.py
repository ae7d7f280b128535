# Prints base/new lib/fiber and Go 1.19 per run with ratios: python3 table.py DIR
import json, re, sys, os
d = sys.argv[1]
def cpp(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        m = re.match(r"BM_(\w+)/procs:(\d+)", b["name"])
        if not m: continue
        unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        out[(m.group(1), int(m.group(2)))] = (b["real_time"] * unit, b["cpu_time"] * unit)
    return out
def go(path):
    out = {}
    for line in open(path):
        m = re.match(r"Benchmark(\w+?)(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op", line)
        if m: out[(m.group(1), int(m.group(2) or 1))] = float(m.group(3))
    return out
for run in (1, 2):
    base, new, g = cpp(f"{d}/cpp-base-run{run}.json"), cpp(f"{d}/cpp-new-run{run}.json"), go(f"{d}/go-run{run}.txt")
    print(f"run {run}: wall ns/op (cpu ns/op of the benchmark thread, procs 1 only meaningful)")
    print(f"{'benchmark':<16} {'procs':>5} {'before':>12} {'after':>12} {'Go 1.19':>12} {'before/Go':>9} {'after/Go':>9} {'cpu before':>11} {'cpu after':>10}")
    for k in sorted(new):
        b, n, gg = base.get(k, (0, 0)), new[k], g.get(k)
        print(f"{k[0]:<16} {k[1]:>5} {b[0]:12.1f} {n[0]:12.1f} {gg or 0:12.1f} {b[0]/gg if gg else 0:9.2f} {n[0]/gg if gg else 0:9.2f} {b[1]:11.1f} {n[1]:10.1f}")
