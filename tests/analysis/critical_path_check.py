#!/usr/bin/env python3
"""Checks `tracetool -goroutine=ID` (timeline and critical path).

Usage:
  critical_path_check.py TRACETOOL expect TRACE ID EXPECTED.json   hand-checked expectation
  critical_path_check.py TRACETOOL invariants TRACE [MAX]           invariants for up to MAX
                                                                    goroutines (default 12)

expect: the JSON's timeline and critical_path (state, start_ns, end_ns, goroutine, woken_by) must
equal the file's, which was worked out by hand from `tracetool -d` (see tests/analysis/
critical_path/README.md).

invariants, for goroutines that ran (from -goroutines=all -json), against the event dump (-d):
  * the timeline is back to back and every interval's ends are events of that goroutine in -d;
  * the path's segments tile [created_ns, end of the last segment] with no gap or overlap, unless
    the walk says where it stopped, and end at the goroutine's end;
  * every jump (a segment whose goroutine was woken or created by another) is a GoUnblock or
    GoCreate in -d at that time, emitted by the goroutine the path continues on, and that
    goroutine's previous segment ends exactly there, running;
  * the by_goroutine totals add up to the path's length.
"""
import json
import re
import subprocess
import sys


def fail(msg):
    raise SystemExit(f"critical_path_check: FAIL: {msg}")


def run(tracetool, *args):
    p = subprocess.run([tracetool, *args], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"tracetool {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def cp_json(tracetool, trace, g):
    return json.loads(run(tracetool, f"-goroutine={g}", "-json", trace))


def expect(tracetool, trace, g, path):
    got = cp_json(tracetool, trace, g)
    with open(path) as f:
        want = json.load(f)
    keys = ("goroutine", "state", "start_ns", "end_ns", "woken_by")
    for part in ("timeline", "critical_path"):
        if part not in want:
            continue
        exp = [{k: s[k] for k in keys if k in s} for s in want[part]]
        have = [{k: s[k] for k in keys if k in e} for s, e in zip(got[part], want[part] + [{}] * len(got[part]))]
        if want.get("prefix"):
            have = have[:len(exp)]
        if have != exp:
            fail(f"{part} of G{g} differs from {path}:\n got {have}\nwant {exp}")
    for k in ("created_ns", "creator", "ended", "end_ns", "stopped"):
        if k in want and got[k] != want[k]:
            fail(f"G{g}: {k} = {got[k]!r}, want {want[k]!r}")
    if "critical_path" not in want:
        print(f"critical_path_check: ok: G{g}: the first {len(want['timeline'])} intervals as expected")
        return
    # The text form says the same.
    text = run(tracetool, f"-goroutine={g}", trace)
    if f"Critical path ({len(want['critical_path'])} segments" not in text:
        fail(f"G{g}: text output does not list {len(want['critical_path'])} path segments")
    print(f"critical_path_check: ok: G{g}: {len(got['timeline'])} intervals, "
          f"{len(got['critical_path'])} path segments as expected")


def dump_events(tracetool, trace):
    """(ts, type, g, target) of every event in -d: target is the g= argument if any."""
    evs = set()
    for line in run(tracetool, "-d", trace).splitlines():
        m = re.match(r"^(\d+) (\w+) p=\S+ g=(\d+) off=\d+(?: g=(\d+))?", line)
        if m:
            evs.add((int(m.group(1)), m.group(2), int(m.group(3)),
                     int(m.group(4)) if m.group(4) else None))
    return evs


def invariants(tracetool, trace, limit):
    gs = json.loads(run(tracetool, "-goroutines=all", "-json", trace))
    ids = []
    for g in gs["goroutines"]:
        if g["stats"]["exec_ns"] > 0:
            ids.append(g["id"])
    # Spread the picks over the list (early and late goroutines).
    step = max(1, len(ids) // limit)
    ids = ids[::step][:limit]
    if not ids:
        fail("no goroutine with execution time in -goroutines=all -json")
    evs = dump_events(tracetool, trace)
    by_ts_g = {(ts, g) for ts, _, g, _ in evs} | {(ts, t) for ts, _, _, t in evs if t is not None}
    segments = jumps = 0
    for g in ids:
        d = cp_json(tracetool, trace, g)
        tl, path = d["timeline"], d["critical_path"]
        for a, b in zip(tl, tl[1:]):
            if a["end_ns"] != b["start_ns"]:
                fail(f"G{g}: timeline gap or overlap between {a} and {b}")
        for s in tl:
            for ts in (s["start_ns"], s["end_ns"]):
                if (ts, g) not in by_ts_g:
                    fail(f"G{g}: timeline time {ts} is no event of G{g} in -d")
        if not path:
            continue
        if path[0]["start_ns"] != d["created_ns"] and not d["stopped"]:
            fail(f"G{g}: the path starts at {path[0]['start_ns']}, not at creation {d['created_ns']}")
        if path[-1]["goroutine"] != g or path[-1]["end_ns"] != tl[-1]["end_ns"]:
            fail(f"G{g}: the path does not end with G{g}'s last interval")
        for a, b in zip(path, path[1:]):
            if a["end_ns"] != b["start_ns"]:
                fail(f"G{g}: path gap or overlap between {a} and {b}")
            if a["end_ns"] < a["start_ns"]:
                fail(f"G{g}: negative segment {a}")
            if b["jumped"]:
                jumps += 1
                w = b["woken_by"]
                if a["goroutine"] != w or a["state"] != "running":
                    fail(f"G{g}: jump to G{w} at {b['start_ns']}, but the segment before is {a}")
                ev = b["begin_event"]
                if (b["start_ns"], ev, w, b["goroutine"]) not in evs:
                    fail(f"G{g}: no {ev} by G{w} of G{b['goroutine']} at {b['start_ns']} in -d")
            elif a["goroutine"] != b["goroutine"]:
                fail(f"G{g}: the path changes goroutine without a jump: {a} -> {b}")
        total = sum(r["total_ns"] for r in d["by_goroutine"])
        if total != path[-1]["end_ns"] - path[0]["start_ns"]:
            fail(f"G{g}: by_goroutine totals {total} != path length")
        segments += len(path)
    print(f"critical_path_check: ok: {len(ids)} goroutines, {segments} path segments, "
          f"{jumps} jumps checked against -d")


def main():
    tracetool, mode = sys.argv[1], sys.argv[2]
    if mode == "expect":
        expect(tracetool, sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif mode == "invariants":
        invariants(tracetool, sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 12)
    else:
        fail(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
