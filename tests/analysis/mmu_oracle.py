#!/usr/bin/env python3
"""MMU oracle: tracetool -mmu against Go 1.19's /mmuPlot and /mmuDetails (go tool trace -http).

For several flag sets (Go's UI views: system, per-P, with and without sweeping, STW only), the
curve's range (xMin, xMax), its 100 windows and MMU values, and the 10 worst windows (start,
utilization) at five of those window sizes must be equal. Floats are compared exactly: both tools
do the same IEEE double arithmetic in the same order. One exception: a sample window is
(int64)exp(...) (spec §8.2), and Go's math.Exp/math.Log (amd64 assembly) and glibc's may round the
last bit differently, so a window may come out 1 ns apart (seen on the last one: xMax vs xMax-1).
Such a point must still be within 1 ns, and its MMU within 2/window of Go's (one more or less
nanosecond changes a window's utilization by at most 1/window).

usage: mmu_oracle.py TRACETOOL GOROOT TRACE
"""
import json
import os
import subprocess
import sys

from gotrace_http import GoTraceServer

FLAG_SETS = ["stw|background|assist", "perProc|stw|background|assist",
             "stw|background|assist|sweep", "perProc|stw|background|assist|sweep", "stw"]


def same_point(g, o):
    """Equal, or the libm last-bit case: windows 1 ns apart and MMUs within 2/window."""
    (gw, gm), (ow, om) = g, o
    return g == o or (abs(gw - ow) <= 1 and min(gw, ow) > 0 and abs(gm - om) <= 2 / min(gw, ow))


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
            diffs = []
            our_curve = [(w, m) for w, m in ours["curve"]]
            checked += len(go_curve)
            if go_curve != our_curve:
                diffs = [(g, o) for g, o in zip(go_curve, our_curve) if not same_point(g, o)][:5]
            if diffs or len(go_curve) != len(our_curve):
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
