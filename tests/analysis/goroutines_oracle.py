#!/usr/bin/env python3
"""Goroutine analysis oracle: tracetool -goroutines against Go 1.19's own goroutine pages.

Starts `go tool trace -http=127.0.0.1:0 TRACE`, fetches /goroutines (groups: start function, N)
and /goroutine?id=PC for every group, and compares every number on them with tracetool's
`-goroutines=all -json`, rendered the way Go renders it: niceDuration for the times (ns below
10µs, µs below 10ms, ms below 10s, else s), "(x.y%)" for GC sweeping/pause over total, and the
bar widths "%.2f%%" (each statistic, and the unknown remainder, over the group's largest total),
which carry more precision than the times.

usage: goroutines_oracle.py TRACETOOL GOROOT TRACE
"""
import html
import json
import os
import re
import subprocess
import sys

from gotrace_http import GoTraceServer, barlen, nice, percent


def main():
    tool, goroot, trace = sys.argv[1:4]
    ours = json.loads(subprocess.run([tool, "-goroutines=all", "-json", trace], check=True,
                                     capture_output=True, text=True).stdout)["goroutines"]
    by_pc = {}
    for g in ours:
        by_pc.setdefault(g["pc"], []).append(g)

    failures = []
    checked = 0
    with GoTraceServer(goroot, trace) as go:
        page = go.get("/goroutines")
        groups = re.findall(r'<a href="/goroutine\?id=(\d+)">([^<]*)</a> N=(\d+)', page)
        if len(groups) != len(by_pc):
            failures.append(f"group count: go {len(groups)}, tracetool {len(by_pc)}")
        for pc_s, name, n in groups:
            pc, name, n = int(pc_s), html.unescape(name), int(n)
            mine = by_pc.get(pc, [])
            if len(mine) != n:
                failures.append(f"group {name} ({pc:#x}): go N={n}, tracetool N={len(mine)}")
                continue
            if mine and mine[0]["start_function"] != name:
                failures.append(f"group {pc:#x}: go name {name!r}, tracetool {mine[0]['start_function']!r}")
            gpage = go.get("/goroutine", id=pc)
            rows = re.findall(r"<tr>\s*<td> <a href=\"/trace\?goid=(\d+)\">\d+</a> </td>(.*?)</tr>",
                              gpage, re.S)
            max_total = max((g["stats"]["total_ns"] for g in mine), default=0)
            mine_by_id = {g["id"]: g for g in mine}
            for gid_s, body in rows:
                g = mine_by_id.get(int(gid_s))
                if g is None:
                    failures.append(f"goroutine {gid_s}: in Go's page, not in tracetool's group")
                    continue
                s = g["stats"]
                cells = [html.unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", body, re.S)]
                bars = re.findall(r'width:([0-9.]+%|0)" class="([a-z-]+)"', body)
                # cells: total, bar graph, exec, io, block, syscall, sched, sweep, gc
                want = [nice(s["total_ns"]), nice(s["exec_ns"]), nice(s["net_wait_ns"]),
                        nice(s["sync_block_ns"]), nice(s["syscall_ns"]),
                        nice(s["sched_wait_ns"]),
                        (nice(s["gc_sweep_ns"]) + " " + percent(s["gc_sweep_ns"], s["total_ns"])).strip(),
                        (nice(s["gc_pause_ns"]) + " " + percent(s["gc_pause_ns"], s["total_ns"])).strip()]
                got = [cells[0]] + cells[2:9]
                got = [re.sub(r"\s+", " ", c) for c in got]
                known = s["exec_ns"] + s["net_wait_ns"] + s["sync_block_ns"] + s["syscall_ns"] + s["sched_wait_ns"]
                unknown = s["total_ns"] - known if known < s["total_ns"] else 0
                want_bars = []
                for v, cls in ((unknown, "unknown-time"), (s["exec_ns"], "exec-time"),
                               (s["net_wait_ns"], "io-time"), (s["sync_block_ns"], "block-time"),
                               (s["syscall_ns"], "syscall-time"), (s["sched_wait_ns"], "sched-time")):
                    if v:
                        want_bars.append((barlen(v, max_total), cls))
                checked += 1
                if got != want or bars != want_bars:
                    failures.append(f"goroutine {gid_s} ({name}): go {got} {bars}\n"
                                    f"    tracetool {want} {want_bars}")
            if len(rows) != len(mine):
                failures.append(f"group {name}: go lists {len(rows)} goroutines, tracetool {len(mine)}")
    for f in failures[:20]:
        print("MISMATCH", f)
    print(f"goroutines oracle {os.path.basename(trace)}: {checked} goroutines compared, "
          f"{len(failures)} mismatches")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
