#!/usr/bin/env python3
"""Schema-level check of `tracetool -export=perfetto` against `tracetool -export=chrome`.

Usage: perfetto_check.py TRACETOOL PROTOC TRACE
       perfetto_check.py TRACETOOL --errors CORRUPT_TRACE GOOD_TRACE

Perfetto's trace_processor cannot be installed here (no PyPI), so the output is decoded with
`protoc --decode` and perfetto_trace.proto (Perfetto's field numbers), independently of the
hand-written encoder, and checked:
  * well-formed: no unknown fields; the first packet clears the sequence's incremental state;
    every track and interned name is defined before use; every slice end closes a begin on the
    same track; timestamps never go back; nothing is left open;
  * execution slices: the (P, name, start, end) of every slice on the "Proc N" tracks equal the
    goroutine execution slices of -export=chrome (Go's viewer model);
  * per goroutine: its track's "running" slices are exactly the execution slices of that
    goroutine (chrome's slices named "G<id> ..."), and all of them together are the P slices;
  * flows: the (start ts, end ts) pairs of flows equal chrome's s/t flow pairs;
  * counters: the goroutine, thread and heap-allocated series equal chrome's (last value at each
    time stamp, repeats dropped);
  * tracks: one thread track per M that chrome's "proc start" names, one P track per P that ran.
"""
import codecs
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

HERE = __file__.rsplit("/", 1)[0]


def fail(msg):
    raise SystemExit(f"perfetto_check: FAIL: {msg}")


def unescape(s):
    return codecs.escape_decode(s.encode("latin-1", "backslashreplace"))[0].decode("utf-8", "replace")


def packets(text):
    """protoc's text format → one dict per packet; sub-messages are dicts, repeated fields lists."""
    stack = [{}]
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line:
            continue
        if re.match(r"^\d+", line):
            fail(f"decoded line {lineno}: unknown field: {line}")
        if line.endswith("{"):
            msg = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(msg)
            stack.append(msg)
        elif line == "}":
            stack.pop()
        else:
            key, _, value = line.partition(": ")
            if value.startswith('"'):
                value = unescape(value[1:-1])
            elif re.match(r"^-?\d+$", value):
                value = int(value)
            stack[-1].setdefault(key, []).append(value)
    if len(stack) != 1:
        fail("unbalanced text format")
    return stack[0].get("packet", [])


def one(msg, key, default=None):
    v = msg.get(key)
    return v[0] if v else default


def perfetto_model(data):
    tracks = {}  # uuid → (name, parent, is_counter)
    names = {}
    slices = defaultdict(list)  # track name → [(name, begin, end)]
    open_ = defaultdict(list)   # uuid → stack of (name, begin)
    flows_out, flows_in = {}, {}
    counters = defaultdict(list)
    last_ts = 0
    pkts = packets(data)
    if not pkts or one(pkts[0], "sequence_flags") != 1:
        fail("the first packet does not clear the incremental state (sequence_flags 1)")
    for i, p in enumerate(pkts):
        for en in one(p, "interned_data", {}).get("event_names", []):
            iid = one(en, "iid")
            if iid in names:
                fail(f"packet {i}: name iid {iid} interned twice")
            names[iid] = one(en, "name", "")
        if "track_descriptor" in p:
            d = one(p, "track_descriptor")
            uuid = one(d, "uuid")
            if uuid in tracks:
                fail(f"packet {i}: track {uuid:#x} described twice")
            parent = one(d, "parent_uuid")
            if parent is not None and parent not in tracks:
                fail(f"packet {i}: track {uuid:#x} names an undescribed parent {parent:#x}")
            name = one(d, "name") or one(one(d, "process", {}), "process_name", "")
            tracks[uuid] = (name, parent, "counter" in d)
        if "track_event" in p:
            ts = one(p, "timestamp")
            if ts is None or ts < last_ts:
                fail(f"packet {i}: time stamp {ts} goes back (last {last_ts})")
            last_ts = ts
            e = one(p, "track_event")
            uuid = one(e, "track_uuid")
            if uuid not in tracks:
                fail(f"packet {i}: event on undescribed track {uuid}")
            tname = tracks[uuid][0]
            typ = one(e, "type")
            if "name_iid" in e:
                if one(e, "name_iid") not in names:
                    fail(f"packet {i}: name iid {one(e, 'name_iid')} used before it is interned")
                name = names[one(e, "name_iid")]
            else:
                name = one(e, "name", "")
            for f in e.get("flow_ids", []):
                if f in flows_out:
                    fail(f"packet {i}: flow {f} starts twice")
                flows_out[f] = ts
            for f in e.get("terminating_flow_ids", []):
                if f in flows_in:
                    fail(f"packet {i}: flow {f} ends twice")
                flows_in[f] = (ts, tname)
            if typ == "TYPE_SLICE_BEGIN":
                open_[uuid].append((name, ts))
            elif typ == "TYPE_SLICE_END":
                if not open_[uuid]:
                    fail(f"packet {i}: slice end on {tname} with no slice open")
                n, b = open_[uuid].pop()
                slices[tname].append((n, b, ts))
            elif typ == "TYPE_INSTANT":
                slices[tname + " instants"].append((name, ts, ts))
            elif typ == "TYPE_COUNTER":
                if not tracks[uuid][2]:
                    fail(f"packet {i}: counter value on non-counter track {tname}")
                counters[tname].append((ts, one(e, "counter_value", 0)))
            else:
                fail(f"packet {i}: event type {typ}")
    for uuid, st in open_.items():
        if st:
            fail(f"track {tracks[uuid][0]}: {len(st)} slices never end")
    flows = Counter((flows_out[f], flows_in[f][0]) for f in flows_in if f in flows_out)
    for f, (_, tname) in flows_in.items():
        if not re.match(r"^Proc \d+$", tname):
            fail(f"flow {f} ends on {tname}, not on a P track")
    return tracks, slices, flows, counters, len(pkts)


NON_EXEC = re.compile(r"^(GC|STW \(.*\)|SWEEP|MARK ASSIST.*)$")


def us_to_ns(v):
    return round(v * 1000)


def chrome_model(doc):
    execs, flows_s, flows_t, threads = Counter(), {}, {}, set()
    counters = defaultdict(list)
    for e in doc["traceEvents"]:
        ph = e["ph"]
        if ph == "X" and e["pid"] == 0 and not NON_EXEC.match(e.get("name", "")):
            b = us_to_ns(e["ts"])
            end = b if e["dur"] == 0.0001 else us_to_ns(e["ts"] + e["dur"])
            execs[(e["tid"], e.get("name", ""), b, end)] += 1
        elif ph == "s":
            flows_s[e["id"]] = us_to_ns(e["ts"])
        elif ph == "t":
            flows_t[e["id"]] = us_to_ns(e["ts"])
        elif ph == "I" and e.get("name") == "proc start":
            threads.add(e["args"]["ThreadID"])
        elif ph == "C":
            for k, v in e["args"].items():
                counters[(e["name"], k)].append((us_to_ns(e["ts"]), v))
    flows = Counter((flows_s[i], flows_t[i]) for i in flows_t)
    return execs, flows, threads, counters


def canonical(series):
    last = {}
    for ts, v in series:
        last[ts] = v
    out, prev = [], 0  # both writers start from 0 and write only changes
    for ts in sorted(last):
        if last[ts] != prev:
            out.append((ts, last[ts]))
            prev = last[ts]
    return out


def near(a, b):
    """chrome's end = ts + dur in µs floats: allow 1 ns of rounding."""
    return abs(a - b) <= 1


def errors(tracetool, corrupt, good):
    """Bad input: exit 1; an unwritable output: exit 2; one line on stderr each, no output file."""
    with tempfile.TemporaryDirectory() as tmp:
        for args, want in (([corrupt, "-o", f"{tmp}/bad.pftrace"], 1),
                           ([good, "-o", f"{tmp}/no/such/dir/x.pftrace"], 2)):
            p = subprocess.run([tracetool, "-export=perfetto", *args], capture_output=True, text=True)
            lines = p.stderr.strip().split("\n")
            if p.returncode != want or len(lines) != 1 or not lines[0].startswith("tracetool: "):
                fail(f"{args}: exit {p.returncode} (want {want}), stderr {p.stderr!r}")
            if os.path.exists(f"{tmp}/bad.pftrace"):
                fail("a failed export left its output file")
        print(f"perfetto_check: ok: bad input and unwritable output fail cleanly")


def main():
    if sys.argv[2] == "--errors":
        errors(sys.argv[1], sys.argv[3], sys.argv[4])
        return
    tracetool, protoc, trace = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        pb = f"{tmp}/out.pftrace"
        subprocess.run([tracetool, "-export=perfetto", "-o", pb, trace], check=True)
        with open(pb, "rb") as f:
            decoded = subprocess.run([protoc, f"--proto_path={HERE}", "--decode=perfetto.protos.Trace",
                                      "perfetto_trace.proto"], stdin=f, capture_output=True,
                                     check=True).stdout.decode("utf-8", "replace")
        chrome = json.loads(subprocess.run([tracetool, "-export=chrome", trace], capture_output=True,
                                           check=True).stdout)
    tracks, slices, flows, counters, npackets = perfetto_model(decoded)
    c_execs, c_flows, c_threads, c_counters = chrome_model(chrome)

    # Execution slices on P tracks.
    p_execs = Counter()
    for tname, ss in slices.items():
        m = re.match(r"^Proc (\d+)$", tname)
        if m:
            for name, b, e in ss:
                p_execs[(int(m.group(1)), name, b, e)] += 1
    if sum(p_execs.values()) != sum(c_execs.values()):
        fail(f"{sum(p_execs.values())} execution slices, chrome has {sum(c_execs.values())}")
    # Match allowing chrome's float rounding of the end.
    by_start = defaultdict(list)
    for (p, name, b, e), n in c_execs.items():
        by_start[(p, name, b)].extend([e] * n)
    for (p, name, b, e), n in p_execs.items():
        ends = by_start.get((p, name, b), [])
        for _ in range(n):
            hit = next((x for x in ends if near(x, e)), None)
            if hit is None:
                fail(f"execution slice P{p} {name!r} [{b}, {e}] is not in the chrome export")
            ends.remove(hit)

    # Per goroutine: its track's running slices are its execution slices on the P tracks (named
    # after it, or a GoStartLabel label), and chrome has as many slices named after it.
    p_names = defaultdict(list)
    for (p, name, b, e), n in p_execs.items():
        p_names[(b, e)].extend([name] * n)
    g_named = Counter()
    all_running = Counter()
    for tname, ss in slices.items():
        m = re.match(r"^G(\d+)( |$)", tname)
        if not m:
            continue
        g = int(m.group(1))
        for name, b, e in ss:
            if name != "running":
                continue
            all_running[(b, e)] += 1
            names = p_names.get((b, e), [])
            if not names:
                fail(f"G{g}: running [{b}, {e}] has no execution slice on a P track")
            if any(re.match(rf"^G{g}( |$)", n) for n in names):
                g_named[g] += 1
            elif all(re.match(r"^G\d+( |$)", n) for n in names):
                fail(f"G{g}: running [{b}, {e}] is on the P tracks as {names}")
    c_per_g = Counter()
    for (p, name, b, e), n in c_execs.items():
        m = re.match(r"^G(\d+)( |$)", name)
        if m:
            c_per_g[int(m.group(1))] += n
    if g_named != c_per_g:
        diff = [(g, g_named[g], c_per_g[g]) for g in set(g_named) | set(c_per_g)
                if g_named[g] != c_per_g[g]]
        fail(f"running slices per goroutine differ from chrome's (g, mine, chrome): {diff[:5]}")
    if sum(all_running.values()) != sum(p_execs.values()):
        fail(f"{sum(all_running.values())} running slices on goroutine tracks, "
             f"{sum(p_execs.values())} execution slices on P tracks")

    # Flows.
    if flows != c_flows:
        fail(f"{sum(flows.values())} flows, chrome has {sum(c_flows.values())}; first differences: "
             f"{list((flows - c_flows).items())[:3]} / {list((c_flows - flows).items())[:3]}")

    # Counters.
    pairs = {"Goroutines running": ("Goroutines", "Running"),
             "Goroutines runnable": ("Goroutines", "Runnable"),
             "Goroutines GC waiting": ("Goroutines", "GCWaiting"),
             "Threads running": ("Threads", "Running"),
             "Threads in syscall": ("Threads", "InSyscall"),
             "Heap allocated": ("Heap", "Allocated")}
    for mine, theirs in pairs.items():
        a, b = canonical(counters.get(mine, [])), canonical(c_counters.get(theirs, []))
        if a != b:
            diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            fail(f"counter {mine}: {len(a)} changes, chrome {len(b)}; first difference at {diff}: "
                 f"{a[diff:diff + 1]} vs {b[diff:diff + 1]}")

    # Tracks.
    thread_tracks = {n for n, _, _ in tracks.values() if n.startswith("Thread M")}
    if thread_tracks != {f"Thread M{t}" for t in c_threads}:
        fail(f"thread tracks {sorted(thread_tracks)[:5]}..., chrome's ThreadIDs {sorted(c_threads)[:5]}")
    ran = {p for (p, _, _, _) in p_execs}
    if ran != {p for (p, _, _, _) in c_execs}:
        fail("the Ps with execution slices differ")
    goroutines_root = next(u for u, (n, _, _) in tracks.items() if n == "Goroutines")
    ng = sum(1 for _, parent, _ in tracks.values() if parent == goroutines_root)
    npt = sum(1 for n, _, _ in tracks.values() if re.match(r"^Proc \d+$", n))
    print(f"perfetto_check: ok: {npackets} packets, {len(tracks)} tracks ({npt} P, "
          f"{len(thread_tracks)} M, {ng} G), {sum(p_execs.values())} execution slices, "
          f"{sum(flows.values())} flows")


if __name__ == "__main__":
    main()
