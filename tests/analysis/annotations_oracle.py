#!/usr/bin/env python3
"""User-annotation oracle: tracetool -tasks/-regions against Go 1.19's /usertasks, /userregions
and /userregion?type=&pc= pages (served by `go tool trace -http` on loopback).

Compared: every task type's count and duration histogram (bucket labels and counts), every region
type's name, start location, count and histogram, and for every region type every instance row
(goroutine, task, the times as Go renders them, GC percentages and bar widths), as multisets
(Go sorts rows by total time and breaks ties at random).

usage: annotations_oracle.py TRACETOOL GOROOT TRACE
"""
import html
import json
import os
import re
import subprocess
import sys
from collections import Counter

from gotrace_http import GoTraceServer, barlen, nice, percent

HISTO_ROW = re.compile(r'<tr><td class="histoTime" align="right">(?:<a href=[^>]*>)?([^<]*)(?:</a>)?'
                       r'</td><td><div style="width:\d+px;[^"]*">&nbsp;</div></td>'
                       r'<td align="right"><div style="position:relative">(\d+)</div></td>')


def go_histogram(fragment):
    """(label, count) of the non-empty buckets of a durationHistogram.ToHTML fragment."""
    return [(html.unescape(l), int(c)) for l, c in HISTO_ROW.findall(fragment) if int(c) > 0]


def our_histogram(h):
    return [(nice(b["min_ns"]), b["count"]) for b in h if b["count"] > 0]


def run_json(tool, *args):
    return json.loads(subprocess.run([tool, *args, "-json"], check=True, capture_output=True,
                                     text=True).stdout)


def instance_row(s, g, task, max_total):
    known = (s["exec_ns"] + s["net_wait_ns"] + s["sync_block_ns"] + s["syscall_ns"] +
             s["sched_wait_ns"])
    unknown = s["total_ns"] - known if known < s["total_ns"] else 0
    bars = tuple((barlen(v, max_total), cls) for v, cls in (
        (unknown, "unknown-time"), (s["exec_ns"], "exec-time"), (s["net_wait_ns"], "io-time"),
        (s["sync_block_ns"], "block-time"), (s["syscall_ns"], "syscall-time"),
        (s["sched_wait_ns"], "sched-time")) if v)
    cells = (nice(s["total_ns"]), nice(s["exec_ns"]), nice(s["net_wait_ns"]),
             nice(s["sync_block_ns"]), nice(s["syscall_ns"]), nice(s["sched_wait_ns"]),
             (nice(s["gc_sweep_ns"]) + " " + percent(s["gc_sweep_ns"], s["total_ns"])).strip(),
             (nice(s["gc_pause_ns"]) + " " + percent(s["gc_pause_ns"], s["total_ns"])).strip())
    return (g, task) + cells + (bars,)


def main():
    tool, goroot, trace = sys.argv[1:4]
    task_types = run_json(tool, "-tasks", trace)["task_types"]
    region_types = run_json(tool, "-regions", trace)["region_types"]
    instances = run_json(tool, "-regions=all", trace)["regions"]
    failures, checked = [], 0
    with GoTraceServer(goroot, trace) as go:
        # /usertasks
        page = go.get("/usertasks")
        go_tasks = {}
        for m in re.finditer(r'<tr>\s*<td>([^<]*)</td>\s*<td><a href="/usertask\?type=[^"]*">(\d+)</a></td>'
                             r'\s*<td>(.*?)</td>\s*</tr>\s*(?=<tr>\s*<td>[^<]*</td>\s*<td><a href="/usertask|</table>\s*</body>)',
                             page, re.S):
            go_tasks[html.unescape(m.group(1))] = (int(m.group(2)), go_histogram(m.group(3)))
        ours = {t["type"]: (t["count"], our_histogram(t["histogram"])) for t in task_types}
        checked += len(go_tasks)
        if go_tasks != ours:
            failures.append(f"/usertasks: go {go_tasks}\n    tracetool {ours}")
        # /userregions
        page = go.get("/userregions")
        go_regions = {}
        for m in re.finditer(r'<td>([^<]*)<br>([^<]*)<br>([^<]*):(\d+)</td>\s*'
                             r'<td><a href="/userregion\?type=[^"]*?(?:&amp;|&)pc=([0-9a-f]+)">(\d+)</a></td>'
                             r'\s*<td>(.*?)</td>\s*</tr>\s*(?=<tr>\s*<td>[^<]*<br>|</table>\s*</body>)',
                             page, re.S):
            key = (html.unescape(m.group(1)), int(m.group(5), 16))
            go_regions[key] = (html.unescape(m.group(2)), html.unescape(m.group(3)), int(m.group(4)),
                               int(m.group(6)), go_histogram(m.group(7)))
        ours = {(r["type"], r["pc"]): (r["function"], r["file"], r["line"], r["count"],
                                        our_histogram(r["histogram"])) for r in region_types}
        checked += len(go_regions)
        if go_regions != ours:
            for k in sorted(set(go_regions) | set(ours), key=str):
                if go_regions.get(k) != ours.get(k):
                    failures.append(f"/userregions {k}: go {go_regions.get(k)}\n    tracetool {ours.get(k)}")
        # /userregion?type=&pc= for every region type
        for (rtype, pc) in sorted(go_regions, key=str):
            page = go.get("/userregion", type=rtype, pc=f"{pc:x}")
            go_rows = Counter()
            for m in re.finditer(r'<tr>\s*<td> <a href="/trace\?goid=(\d+)">\d+</a> </td>\s*'
                                 r'<td> (?:<a href="/trace\?focustask=(\d+)">\d+</a>)? </td>(.*?)</tr>',
                                 page, re.S):
                body = m.group(3)
                cells = [re.sub(r"\s+", " ", html.unescape(c)).strip()
                         for c in re.findall(r"<td>(.*?)</td>", body, re.S)]
                bars = tuple(re.findall(r'width:([0-9.]+%|0)" class="([a-z-]+)"', body))
                go_rows[(int(m.group(1)), int(m.group(2) or 0), cells[0]) + tuple(cells[2:9]) + (bars,)] += 1
            mine = [i for i in instances if i["type"] == rtype and i["pc"] == pc]
            max_total = max((i["stats"]["total_ns"] for i in mine), default=0)
            our_rows = Counter(instance_row(i["stats"], i["g"], i["task_id"], max_total) for i in mine)
            checked += sum(go_rows.values())
            if go_rows != our_rows:
                failures.append(f"/userregion {rtype!r} {pc:#x}: go {sorted(go_rows.items(), key=str)}\n"
                                f"    tracetool {sorted(our_rows.items(), key=str)}")
    for f in failures[:20]:
        print("MISMATCH", f)
    print(f"annotations oracle {os.path.basename(trace)}: {checked} task types, region types and "
          f"region instances compared, {len(failures)} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
