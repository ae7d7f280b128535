# Memory, ready time and answers of one `tracetool -http` binary, to compare two builds:
#
#   python3 bench/web/compare_api.py BINARY TRACE OUTDIR
#   cmp OUTDIR_A/answers.json OUTDIR_B/answers.json   # same answers?
#
# Prints ready wall/CPU time, VmHWM when serving and when the analyses are ready (what
# bench/web/run.sh's peak sees: it asks no goroutine pages), and the peak after ~300 API queries
# (spans at every zoom in every lens, span details, goroutine groups and pages, find); OUTDIR gets
# the answers (hashes, the overview without its timings and index size) and the server's stderr.
import json, os, re, subprocess, sys, time, urllib.request, hashlib
binary, trace, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
err = open(os.path.join(out, "stderr"), "w+")
t0 = time.time()
p = subprocess.Popen(["/usr/bin/time", "-v", binary, "-http=127.0.0.1:0", trace], stderr=err, stdout=subprocess.DEVNULL)
def log():
    err.flush(); return open(os.path.join(out, "stderr")).read()
while "serving the web UI" not in log():
    time.sleep(0.05)
ready_wall = time.time() - t0
child = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()[0]
st = open(f"/proc/{child}/stat").read().split(")")[1].split()
hz = os.sysconf("SC_CLK_TCK")
ready_cpu = (int(st[11]) + int(st[12])) / hz
_stt = open(f"/proc/{child}/status").read()
hwm_serving = int(re.search(r"VmHWM:\s+(\d+)", _stt).group(1)); rss_serving = int(re.search(r"VmRSS:\s+(\d+)", _stt).group(1))
url = re.search(r"http://\S+", log()).group(0)
while "analyses ready" not in log() and "analyses failed" not in log():
    time.sleep(0.2)
an_wall = time.time() - t0
hwm_ready = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{child}/status").read()).group(1))
import urllib.error, urllib.parse
def get(path):
    try:
        with urllib.request.urlopen(url + path) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return b"HTTP %d " % e.code + e.read()
ov = json.loads(get("api/overview"))
index_bytes = ov.get("index_bytes")
for k in ("index_bytes", "load_seconds", "analysis_seconds"):
    ov.pop(k, None)
res = {"overview": ov}
dur = ov["duration_ns"]; gors = ov["goroutines"]
qs = []
for lens in ("p", "g", "m"):
    tr = json.loads(get(f"api/tracks?lens={lens}&first=0&count=5000"))
    res[f"tracks-{lens}"] = tr
    span = dur
    while span >= 10000:
        for pos in (0.1, 0.5, 0.9):
            c = dur * pos; a = max(0, round(c - span)); b = round(c + span)
            for first in ([0, gors // 2, gors - 40] if lens == "g" else [0]):
                qs.append(f"api/spans?lens={lens}&first={first}&count=80&t0={a}&t1={b}&width=2380")
        span /= 10
    for track in range(0, 12):
        for pos in (0.05, 0.3, 0.5, 0.77, 0.99):
            qs.append(f"api/span?lens={lens}&track={track}&ts={int(dur*pos)}&slop=100000")
for track in (gors // 3, gors // 2, gors - 7):
    for pos in (0.1, 0.5, 0.9):
        qs.append(f"api/span?lens=g&track={track}&ts={int(dur*pos)}&slop=1000")
qs += ["api/goroutines", "api/find?q=main", "api/find?q=G12"]
groups = json.loads(get("api/goroutines"))
for g in (groups if isinstance(groups, list) else groups.get("groups", []))[:3]:
    name = g.get("name") or g.get("start_function") or ""
    if name:
        qs.append("api/goroutines?group=" + urllib.parse.quote(name))
for q in qs:
    body = get(q)
    res[q] = hashlib.sha256(body).hexdigest()
json.dump(res, open(os.path.join(out, "answers.json"), "w"), indent=0, sort_keys=True)
subprocess.run(["kill", "-INT", child])
p.wait()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", log()).group(1))
size = os.path.getsize(trace)
print(json.dumps({"binary": binary, "ready_wall_s": round(ready_wall, 2), "ready_cpu_s": ready_cpu,
                  "analyses_wall_s": round(an_wall, 2), "peak_rss_kib": rss, "hwm_at_analyses_ready_kib": hwm_ready, "hwm_serving_kib": hwm_serving, "rss_serving_kib": rss_serving,
                  "x_trace": round(rss * 1024 / size, 2), "index_bytes": index_bytes, "queries": len(qs)}))
