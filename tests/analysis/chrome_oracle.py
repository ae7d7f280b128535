#!/usr/bin/env python3
"""Oracle for `tracetool -export=chrome`: the trace-event JSON of Go 1.19's viewer (/jsontrace).

Usage: chrome_oracle.py TRACETOOL GOROOT TRACE

Both documents are split into their event objects, one per line as both tools write them. The
objects are compared as text, byte for byte (so number and string formatting must match Go's
encoder), after three renamings that only concern numbering: a stack-frame id (sf, esf) becomes
the chain of "function:line" names it stands for, and a flow id becomes the flow's two ends.
tracetool writes a slice when it closes, where Go writes it where it opens, so both sides are
sorted before the comparison. Counters are compared at the last value of each time stamp (see
canonical()). The stackFrames objects must describe the same chains.
"""
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gotrace_http import GoTraceServer  # noqa: E402

PREFIX = '{"displayTimeUnit":"ns"\n,"traceEvents": ['


def split(doc, who):
    if not doc.startswith(PREFIX):
        raise SystemExit(f"{who}: does not start with {PREFIX!r}: {doc[:80]!r}")
    body, sep, frames = doc[len(PREFIX):].rpartition('], "stackFrames":')
    if not sep or not frames.endswith("\n}"):
        raise SystemExit(f"{who}: no stackFrames trailer")
    lines = body.split("\n")
    if lines[-1] != "":
        raise SystemExit(f"{who}: the event list does not end with a newline")
    events = []
    for i, line in enumerate(lines[:-1]):
        if i > 0:
            if not line.startswith(","):
                raise SystemExit(f"{who}: event {i} does not start with a comma: {line[:80]!r}")
            line = line[1:]
        events.append(line)
    return events, json.loads(frames[:-2])


def chains(frames):
    memo = {}

    def chain(fid):
        if fid == 0:
            return ""
        if fid not in memo:
            f = frames[str(fid)]
            parent = chain(f.get("parent", 0))
            memo[fid] = f["name"] + (" < " + parent if parent else "")
        return memo[fid]

    return chain


def canonical(events, frames, who):
    chain = chains(frames)
    flows = {}
    parsed = [json.loads(e) for e in events]
    for e in parsed:
        if e["ph"] in ("s", "t"):
            flows.setdefault(e["id"], {})[e["ph"]] = (e["ts"], e["tid"], e["name"])
    # Counters: Go orders events with equal times on different Ps by a history that starts in
    # random map order, so a counter's intermediate values at one time stamp can differ between
    # runs; the value after the last event of that time cannot. Keep that one.
    last_counter = {}
    for i, e in enumerate(parsed):
        if e["ph"] == "C":
            last_counter[(e["name"], e["ts"])] = i
    out = []
    for i, (raw, e) in enumerate(zip(events, parsed)):
        if e["ph"] == "C" and last_counter[(e["name"], e["ts"])] != i:
            continue
        text = raw
        for key in ("sf", "esf"):
            if key in e:
                text = re.sub(r'"%s":%d([,}])' % (key, e[key]),
                              lambda m: '"%s":%s%s' % (key, json.dumps(chain(e[key])), m.group(1)),
                              text, count=1)
        if e["ph"] in ("s", "t"):
            f = flows[e["id"]]
            if set(f) != {"s", "t"}:
                raise SystemExit(f"{who}: flow {e['id']} lacks one end: {f}")
            text = re.sub(r'"id":%d([,}])' % e["id"],
                          lambda m: '"id":"%s->%s"%s' % (f["s"][:2], f["t"][:2], m.group(1)),
                          text, count=1)
        out.append(text)
    return out


def main():
    tracetool, goroot, trace = sys.argv[1:4]
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        subprocess.run([tracetool, "-export=chrome", "-o", tmp.name, trace], check=True)
        ours = open(tmp.name, encoding="utf-8").read()
    with GoTraceServer(goroot, trace) as srv:
        theirs = srv.get("/jsontrace")
    our_events, our_frames = split(ours, "tracetool")
    go_events, go_frames = split(theirs, "go tool trace")
    a = Counter(canonical(our_events, our_frames, "tracetool"))
    b = Counter(canonical(go_events, go_frames, "go tool trace"))
    # The same chains in stackFrames (ids differ).
    ca, cb = chains(our_frames), chains(go_frames)
    fa = {ca(int(k)) for k in our_frames}
    fb = {cb(int(k)) for k in go_frames}
    ok = True
    if a != b:
        ok = False
        extra, missing = a - b, b - a
        print(f"events differ: {sum(extra.values())} only in tracetool, "
              f"{sum(missing.values())} only in Go")
        for e in sorted(extra)[:10]:
            print("  tracetool:", e)
        for e in sorted(missing)[:10]:
            print("  go       :", e)
    if fa != fb:
        ok = False
        print(f"stack frames differ: {len(fa - fb)} only in tracetool, {len(fb - fa)} only in Go")
        for c in sorted(fa - fb)[:5]:
            print("  tracetool:", c)
        for c in sorted(fb - fa)[:5]:
            print("  go       :", c)
    print(f"{trace}: {sum(a.values())} events (Go {sum(b.values())}), {len(fa)} frames: "
          + ("equal" if ok else "DIFFERENT"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
