#!/usr/bin/env python3
"""The page analyses keep only what they print (GoroutineStats::Keep); check that the lean paths
give what the full one gives, on one trace.

usage: page_keep_check.py TRACETOOL TRACE

  -goroutines -json      (per-PC sums, folded as goroutines end)  ==  the groups summed here from
  -goroutines=all -json  (every goroutine's summary, with regions), in Go's order: by PC, then
                         by execution time, largest first (a stable sort)
  -goroutines=all        (summaries without regions)  ==  the same goroutines, ids and columns
  -regions=all -json     (only goroutines that have regions)  ==  the regions listed under the
                         goroutines of -goroutines=all -json

The oracle tests compare the full path with Go's pages; this ties the lean ones to it.
"""
import json
import subprocess
import sys

STATS = ["total_ns", "exec_ns", "sched_wait_ns", "net_wait_ns", "sync_block_ns", "syscall_ns",
         "gc_sweep_ns", "gc_pause_ns"]


def run(tool, *args):
    p = subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"tracetool {' '.join(args)} failed ({p.returncode}): {p.stderr[:300]}")
    return p.stdout


def main():
    tool, trace = sys.argv[1:3]
    full = json.loads(run(tool, "-goroutines=all", "-json", trace))["goroutines"]
    groups = json.loads(run(tool, "-goroutines", "-json", trace))["groups"]
    failures = []
    if not full:
        failures.append("no goroutines in the trace: nothing is checked")

    # Groups: sums of the full summaries.
    want = {}
    for g in full:
        w = want.setdefault(g["pc"], {"pc": g["pc"], "start_function": g["start_function"],
                                      "count": 0, "stats": {k: 0 for k in STATS}})
        w["count"] += 1
        for k in STATS:
            w["stats"][k] += g["stats"][k]
    order = sorted(want.values(), key=lambda w: w["pc"])
    order.sort(key=lambda w: -w["stats"]["exec_ns"])  # stable, as Go's sort.Slice... and ours
    got = [{"pc": g["pc"], "start_function": g["start_function"], "count": g["count"],
            "stats": {k: g["stats"][k] for k in STATS}} for g in groups]
    if [w["pc"] for w in order] != [g["pc"] for g in got]:
        failures.append(f"group order: want {[hex(w['pc']) for w in order]}, "
                        f"got {[hex(g['pc']) for g in got]}")
    got_by_pc = {g["pc"]: g for g in got}
    for w in order:
        g = got_by_pc.get(w["pc"])
        if g != w:
            failures.append(f"group {w['pc']:#x}: want {w}, got {g}")

    # One group's goroutines without regions (text): the same ids, in the same order by default.
    text = run(tool, "-goroutines=all", trace).splitlines()
    ids = [int(line.split()[0]) for line in text[1:] if line.strip() and line.split()[0].isdigit()]
    want_ids = sorted((g["id"] for g in full), key=lambda i: i)
    if sorted(ids) != want_ids:
        failures.append(f"-goroutines=all lists {len(ids)} goroutines, the JSON {len(want_ids)}")

    # Regions: only goroutines with regions kept for the annotation pages.
    def key(g, r, name):
        return (g, name, r["task_id"], r["start_ns"], r["end_ns"],
                tuple(r["stats"][k] for k in STATS))
    want_regions = sorted(key(g["id"], r, r["name"]) for g in full for r in g["regions"])
    regions = json.loads(run(tool, "-regions=all", "-json", trace))["regions"]
    got_regions = sorted(key(r["g"], r, r["type"]) for r in regions)
    if want_regions != got_regions:
        missing = set(want_regions) - set(got_regions)
        extra = set(got_regions) - set(want_regions)
        failures.append(f"regions: {len(want_regions)} under the goroutines, {len(got_regions)} in "
                        f"-regions=all; missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]}")

    for f in failures:
        print("FAIL", f)
    print(f"{trace}: {len(full)} goroutines, {len(groups)} groups, {len(want_regions)} regions: "
          f"{'FAIL' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
