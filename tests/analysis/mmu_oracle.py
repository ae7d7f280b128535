#!/usr/bin/env python3
"""MMU oracle: tracetool -mmu against Go 1.19's /mmuPlot and /mmuDetails (go tool trace -http).

For several flag sets (Go's UI views: system, per-P, with and without sweeping, STW only), the
curve's range (xMin, xMax), its 100 windows and MMU values, and the 10 worst windows (start,
utilization) at five of those window sizes must be equal. Floats are compared exactly: both tools
do the same IEEE double arithmetic in the same order.

usage: mmu_oracle.py TRACETOOL GOROOT TRACE
"""
import json
import os
import subprocess
import sys

from gotrace_http import GoTraceServer

FLAG_SETS = ["stw|background|assist", "perProc|stw|background|assist",
             "stw|background|assist|sweep", "perProc|stw|background|assist|sweep", "stw"]


def main():
    tool, goroot, trace = sys.argv[1:4]
    failures, checked = [], 0
    with GoTraceServer(goroot, trace) as go:
        for flags in FLAG_SETS:
            try:
                plot = json.loads(go.get("/mmuPlot", flags=flags, attempts=3))
            except RuntimeError:
                # Go's handler panics on GC events of a P outside GOMAXPROCS (old traces without
                # a Gomaxprocs event first); tracetool must refuse the same trace with an error.
                r = subprocess.run([tool, "-mmu=" + flags, trace], capture_output=True, text=True)
                checked += 1
                if r.returncode != 1 or "outside GOMAXPROCS" not in r.stderr:
                    failures.append(f"{flags}: Go's /mmuPlot fails, tracetool exits {r.returncode}: "
                                    f"{r.stderr.strip()}")
                continue
            windows = [int(plot["curve"][i][0]) for i in (0, 25, 50, 75, 99)] if plot["curve"] else []
            args = [tool, "-mmu=" + flags, "-json"]
            if windows:
                args.append("-mmu-window=" + ",".join(str(w) for w in windows))
            ours = json.loads(subprocess.run(args + [trace], check=True, capture_output=True,
                                             text=True).stdout)
            if (plot["xMin"], plot["xMax"]) != (ours["x_min_ns"], ours["x_max_ns"]):
                failures.append(f"{flags}: range go {plot['xMin']}..{plot['xMax']}, "
                                f"tracetool {ours['x_min_ns']}..{ours['x_max_ns']}")
            go_curve = [(int(w), m) for w, m in plot["curve"]]
            our_curve = [(w, m) for w, m in ours["curve"]]
            checked += len(go_curve)
            if go_curve != our_curve:
                diffs = [(g, o) for g, o in zip(go_curve, our_curve) if g != o][:5]
                failures.append(f"{flags}: curve differs ({len(go_curve)} vs {len(our_curve)} points), "
                                f"first differences (go, tracetool): {diffs}")
            for w, worst in zip(windows, ours["worst"]):
                details = json.loads(go.get("/mmuDetails", flags=flags, window=str(w)))
                go_w = [(d["Time"], d["MutatorUtil"]) for d in (details or [])]
                our_w = [(d["time_ns"], d["mutator_util"]) for d in worst["windows"]]
                checked += len(go_w)
                if go_w != our_w:
                    failures.append(f"{flags} window {w}: go {go_w}\n    tracetool {our_w}")
    for f in failures[:20]:
        print("MISMATCH", f)
    print(f"mmu oracle {os.path.basename(trace)}: {checked} curve points and worst windows "
          f"compared over {len(FLAG_SETS)} flag sets, {len(failures)} mismatches")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
