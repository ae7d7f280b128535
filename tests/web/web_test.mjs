// Browser tests of `tracetool -http`: a real headless Chromium (Debian's) driven by playwright-core
// against a server on a loopback port. Expected values come from tracetool's own batch modes (-d,
// -goroutines, -mmu), which the oracle tests check against Go 1.19, and from Go's pprof.
//
//   node web_test.mjs --tracetool build/bin/tracetool --trace testdata/go1.19/demo.trace \
//        --artifacts build/web-artifacts [--chromium /usr/bin/chromium] [--go /usr/lib/go-1.19/bin/go]
//
// Screenshots of every page land in --artifacts. Exit status 0 only if every check passed.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";

const here = path.dirname(new URL(import.meta.url).pathname);
if (!existsSync(path.join(here, "node_modules", "playwright-core"))) {
  console.error(`web_test: ${here}/node_modules/playwright-core is missing: run 'npm ci' in ${here} (scripts/install-deps.sh does)`);
  process.exit(1);
}
const { chromium } = createRequire(import.meta.url)("playwright-core");

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const TRACETOOL = args.tracetool, TRACE = args.trace, ART = args.artifacts;
const CHROMIUM = args.chromium || "/usr/bin/chromium";
const GO = args.go || "/usr/lib/go-1.19/bin/go";
if (!TRACETOOL || !TRACE || !ART) {
  console.error("usage: node web_test.mjs --tracetool BIN --trace FILE --artifacts DIR");
  process.exit(2);
}
if (!existsSync(TRACE)) { console.error(`web_test: no trace ${TRACE}`); process.exit(1); }
mkdirSync(ART, { recursive: true });
const tag = path.basename(TRACE).replace(/\W+/g, "_");

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
  if (!cond) failures++;
}

// ---- expectations from the batch modes ----
const cli = (...a) => execFileSync(TRACETOOL, [...a, TRACE], { maxBuffer: 1 << 30 }).toString();
const dump = cli("-d").trim().split("\n").map((l) => {
  const f = l.split(" ");
  const o = { ts: Number(f[0]), type: f[1] };
  for (const kv of f.slice(2)) { const [k, v] = kv.split("="); if (!(k in o)) o[k] = v; }
  return o;
});
const goroutines = JSON.parse(cli("-goroutines=all", "-json")).goroutines;
const expect = {
  events: dump.length,
  goroutines: goroutines.length,
  gc: dump.filter((e) => e.type === "GCStart").length,
  procs: new Set(dump.filter((e) => (e.type === "ProcStart" || e.type === "GoStart") && Number(e.p) < 1000000).map((e) => e.p)).size,
};
const nameOf = new Map(goroutines.map((g) => [g.id, g.start_function]));
// The longest running interval of a main.* goroutine: GoStart → its next stop on the same g.
const ends = new Set(["GoEnd", "GoStop", "GoSched", "GoPreempt", "GoSleep", "GoBlock", "GoBlockSend", "GoBlockRecv",
  "GoBlockSelect", "GoBlockSync", "GoBlockCond", "GoBlockNet", "GoBlockGC", "GoSysBlock"]);
const open = new Map();
let run = null;
for (const e of dump) {
  if (e.type === "GoStart" || e.type === "GoStartLabel") open.set(e.g, e);
  else if (ends.has(e.type) && open.has(e.g)) {
    const s = open.get(e.g);
    open.delete(e.g);
    const g = Number(e.g);
    // Prefer the program's own goroutines; any goroutine if it has none with a name.
    const rank = (x) => ((nameOf.get(x.g) || "").startsWith("main.") ? 1e15 : 0) + x.end - x.start;
    const cand = { g, p: Number(s.p), start: s.ts, end: e.ts };
    if (!run || rank(cand) > rank(run)) {
      run = cand;
    }
  }
}
// A blocking receive with a stack we know from the program's source (bench/demo/main.go:136 is
// `for j := range jobs`): the first GoBlockRecv of a main.main.func2 goroutine.
// Other traces: the first blocking event of any goroutine, checked for its event and a stack.
const demoRecv = dump.find((e) => e.type === "GoBlockRecv" && nameOf.get(Number(e.g)) === "main.main.func2");
const recv = demoRecv || dump.find((e) => /^GoBlock(Send|Recv|Select|Sync|Cond|Net)?$/.test(e.type) && Number(e.g) > 0);
const mmu = JSON.parse(cli("-mmu", "-json"));

// ---- server ----
const server = spawn(TRACETOOL, ["-http=127.0.0.1:0", TRACE], { stdio: ["ignore", "ignore", "pipe"] });
let stderr = "";
const url = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no URL from tracetool in 30 s: ${stderr}`)), 30000);
  server.stderr.on("data", (d) => {
    stderr += d;
    const m = /http:\/\/\S+\//.exec(stderr);
    if (m) { clearTimeout(timer); resolve(m[0]); }
  });
  server.on("exit", (code) => reject(new Error(`tracetool exited ${code}: ${stderr}`)));
});
console.log(`server at ${url}`);

// Server-side checks that need no browser.
{
  const bad = await fetch(`${url}api/spans?lens=q`);
  check(bad.status === 400 && (await bad.text()).includes("lens"), "bad query parameter → 400 with a message");
  // fetch() may not set Host; node:http can.
  const status = (host) => new Promise((resolve) => {
    const u = new URL(url);
    const req = http.get({ host: u.hostname, port: u.port, path: "/api/overview", headers: { Host: host } },
      (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", () => resolve(-1));
  });
  check(await status("attacker.example:80") === 403, "foreign Host header refused (DNS rebinding)");
  check(await status(`localhost:${new URL(url).port}`) === 200, "localhost Host header accepted");
  const zoomedOut = await (await fetch(`${url}api/spans?lens=g&first=0&count=2000&width=100`)).json();
  const perTrack = new Map();
  for (let i = 0; i < zoomedOut.spans.length; i += 8) perTrack.set(zoomedOut.spans[i], (perTrack.get(zoomedOut.spans[i]) || 0) + 1);
  check(Math.max(0, ...perTrack.values()) <= 2 * 100 + 2, `LOD: at most ~2 spans per pixel per track (max ${Math.max(0, ...perTrack.values())} at width 100)`);
  const counters = await (await fetch(`${url}api/counters?width=300`)).json();
  check(counters.series.running.length > 0 && counters.series.running.length / 3 <= 300, `counter track: ${counters.series.running.length / 3} columns for 300 px`);
  check(counters.max.running >= 1 && counters.max.running <= expect.procs, `at most GOMAXPROCS goroutines running (max ${counters.max.running}, ${expect.procs} Ps)`);
  const heapEvents = dump.filter((e) => e.type === "HeapAlloc").length;
  check(heapEvents === 0 || counters.max.heap > 0, `heap counter has values (${heapEvents} HeapAlloc events, max ${counters.max.heap})`);
}

// ---- browser ----
const profileDir = mkdtempSync(path.join(tmpdir(), "tracetool-web-"));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  viewport: { width: 1400, height: 860 },
  deviceScaleFactor: 1,
});
const errors = [];
const page = context.pages()[0] || await context.newPage();
const watch = (p) => {
  p.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  p.on("pageerror", (e) => errors.push(String(e)));
};
watch(page);
const shot = async (name, p = page) => p.screenshot({ path: path.join(ART, `${tag}-${name}.png`) });
const timelineReady = async (p = page) => {
  await p.waitForFunction(() => {
    const c = document.getElementById("tl-canvas");
    return c && c.dataset.ready === "1";
  }, null, { timeout: 15000 });
  await p.waitForTimeout(100);  // the next animation frame has painted
};
// Pixel colour at canvas coordinates (CSS px).
const pixel = (x, y, p = page) => p.evaluate(([x, y]) => {
  const c = document.getElementById("tl-canvas");
  const dpr = c.width / c.clientWidth;
  const d = c.getContext("2d").getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data;
  return `#${[d[0], d[1], d[2]].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}, [x, y]);
const RUNNING = "#34c47c";

try {
  // Overview.
  await page.goto(url);
  await page.waitForSelector("#ov-events");
  const ov = async (id) => (await page.textContent(id)).replace(/,/g, "");
  check(Number(await ov("#ov-events")) === expect.events, `overview events = ${expect.events} (-d lines)`);
  check(Number(await ov("#ov-goroutines")) === expect.goroutines, `overview goroutines = ${expect.goroutines}`);
  check(Number(await ov("#ov-gc")) === expect.gc, `overview GC count = ${expect.gc}`);
  check(Number(await ov("#ov-procs")) === expect.procs, `overview Ps = ${expect.procs}`);
  check((await page.textContent("#ov-warnings")).length > 0, "overview lists parser warnings (or says none)");
  await shot("overview");

  // Timeline by P, zoomed on the longest running span of a main.* goroutine.
  check(run !== null, "the trace has a running span of a main.* goroutine");
  const pad = (run.end - run.start) / 2;
  await page.goto(`${url}#/timeline?lens=p&t0=${Math.round(run.start - pad)}&t1=${Math.round(run.end + pad)}`);
  await timelineReady();
  const geo = await page.evaluate((run) => {
    const tl = window.tracetoolTimeline;
    let track = -1;
    for (const [i, l] of tl.labels) if (l.label === `P ${run.p}`) track = i;
    return { x: tl.x((run.start + run.end) / 2), y: tl.trackY(track) + 10, track,
      left: tl.canvas.getBoundingClientRect().left, top: tl.canvas.getBoundingClientRect().top };
  }, run);
  check(geo.track >= 0, `timeline has a row for P ${run.p}`);
  check(await pixel(geo.x, geo.y) === RUNNING, `running span of G${run.g} drawn on P ${run.p}'s row`);
  // Just before the span, this P ran something else or nothing: not the same pixel run.
  const lanePixel = await pixel(geo.x, 26 + 8);
  check(lanePixel !== RUNNING, `GC lane above is not drawn as running (${lanePixel})`);
  await shot("timeline-p");
  await page.mouse.click(geo.left + geo.x, geo.top + geo.y);
  await page.waitForSelector("#d-goroutine");
  const gtext = await page.textContent("#d-goroutine");
  check(gtext.startsWith(`G${run.g} `) || gtext === `G${run.g}`, `click shows goroutine G${run.g} (got "${gtext}")`);
  check((await page.textContent("#d-kind")) === "running", "click shows state running");
  const link = page.url();
  check(/sel=/.test(link), "the URL records the selection");
  await shot("timeline-p-selected");

  // Deep link: a fresh tab with the same URL shows the same view and selection.
  const page2 = await context.newPage();
  watch(page2);
  await page2.setViewportSize({ width: 1400, height: 860 });
  await page2.goto(link);
  await timelineReady(page2);
  await page2.waitForSelector("#d-goroutine");
  check((await page2.textContent("#d-goroutine")) === gtext, "deep link reopens the selection");
  const v1 = await page.getAttribute("#tl-canvas", "data-view"), v2 = await page2.getAttribute("#tl-canvas", "data-view");
  check(v1 === v2, `deep link reopens the view (${v1} vs ${v2})`);
  check(await pixel(geo.x, geo.y, page2) === RUNNING, "deep link draws the same span");
  await page2.close();

  // Goroutine lens: a blocking receive, its goroutine and its stack.
  check(recv !== undefined, "the trace has a blocking event of a goroutine");
  await page.goto(`${url}#/timeline?lens=g&t0=${recv.ts - 20000}&t1=${recv.ts + 20000}&g=${recv.g}`);
  await timelineReady();
  const gg = await page.evaluate(([g, ts]) => {
    const tl = window.tracetoolTimeline;
    let track = -1;
    for (const [i, l] of tl.labels) if (l.id === g && !l.lane) track = i;
    const r = tl.canvas.getBoundingClientRect();
    // Just after the blocking event: inside its waiting span (1 px = 40 ns here).
    return { track, x: tl.x(ts) + 3 + r.left, y: tl.trackY(track) + 10 + r.top };
  }, [Number(recv.g), recv.ts]);
  check(gg.track >= 0, `goroutine lens scrolled to G${recv.g}`);
  await page.mouse.click(gg.x, gg.y);
  await page.waitForSelector("#d-stack");
  const ev = await page.textContent("#d-event");
  const stack = await page.textContent("#d-stack");
  check(ev === recv.type, `click on G${recv.g} after ${recv.ts} shows ${recv.type} (got ${ev})`);
  if (demoRecv) {
    check(stack.includes("runtime.chanrecv2") && stack.includes("main.main.func2") && stack.includes("main.go:136"),
      "its stack: runtime.chanrecv2 ← main.main.func2 at main.go:136 (for j := range jobs)");
  } else {
    check(stack.length > 0 && stack !== "no stack", `its stack is shown (${stack.slice(0, 80)})`);
  }
  await shot("timeline-g");

  // Keyboard zoom (W) asks the server for a finer view and repaints.
  const before = await page.getAttribute("#tl-canvas", "data-view");
  await page.focus("#tl-canvas");
  await page.keyboard.press("w");
  await page.keyboard.press("d");
  await timelineReady();
  check(await page.getAttribute("#tl-canvas", "data-view") !== before, "W/D change the view");

  // Goroutine analysis: sort by count, both ways.
  await page.goto(`${url}#/goroutines`);
  await page.waitForSelector("#groups table");
  const counts = async () => page.$$eval("#groups tbody tr", (rows) => rows.map((r) => Number(r.children[1].textContent.replace(/,/g, ""))));
  await page.click('#groups th[data-key="count"]');
  const desc = await counts();
  check(desc.every((v, i) => i === 0 || desc[i - 1] >= v), `goroutine groups sorted by count, descending (${desc.join(",")})`);
  await page.click('#groups th[data-key="count"]');
  const asc = await counts();
  check(asc.every((v, i) => i === 0 || asc[i - 1] <= v), "and ascending on a second click");
  check(/sort=count/.test(page.url()), "the sort is in the URL");
  await shot("goroutines");
  await page.click("#groups tbody tr:first-child a");
  await page.waitForSelector("#goroutines table");
  await shot("goroutine-group");

  // Flame graph: the top function matches Go's pprof on tracetool's -pprof=sync.
  await page.goto(`${url}#/profiles?mode=sync`);
  await page.waitForSelector("#top table");
  const topFn = await page.textContent("#top tbody tr:first-child td:first-child");
  let pprofTop = null;
  if (existsSync(GO)) {
    const prof = path.join(profileDir, "sync.prof");
    writeFileSync(prof, execFileSync(TRACETOOL, ["-pprof=sync", TRACE]));
    const top = execFileSync(GO, ["tool", "pprof", "-top", "-nodecount=1", prof], { env: { ...process.env, HOME: profileDir }, stdio: ["ignore", "pipe", "ignore"] }).toString();
    const line = top.trim().split("\n").pop().trim().split(/\s+/);
    pprofTop = line.slice(5).join(" ");
  }
  check(pprofTop === null || topFn === pprofTop, `flame/top table top function ${topFn} = go tool pprof -top's ${pprofTop}`);
  const flame = await page.$("#flame");
  if (flame) {
    await page.waitForFunction(() => Number(document.getElementById("flame").dataset.painted) > 0);
    check(true, "flame graph painted");
  } else {
    check(await page.$("#flame-empty") !== null, "empty profile says so");
  }
  const dl = await fetch(`${url}api/pprof?mode=sync`);
  const body = Buffer.from(await dl.arrayBuffer());
  check(dl.status === 200 && body[0] === 0x1f && body[1] === 0x8b, "raw pprof download is gzip");
  await shot("profile-sync");
  await page.goto(`${url}#/profiles?mode=sched`);
  await page.waitForSelector("#top table");
  await shot("profile-sched");

  // MMU: the chart has the points of -mmu's curve.
  await page.goto(`${url}#/mmu`);
  await page.waitForFunction(() => Number(document.getElementById("mmu-chart")?.dataset.points) > 0);
  const points = Number(await page.getAttribute("#mmu-chart", "data-points"));
  check(points === mmu.curve.filter((p) => p[0] > 0).length, `MMU chart has ${points} points (-mmu: ${mmu.curve.length})`);
  const box = await (await page.$("#mmu-chart")).boundingBox();
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.waitForSelector("#mmu-worst table");
  check((await page.$$("#mmu-worst tbody tr")).length > 0, "clicking the curve lists the worst windows");
  await shot("mmu");

  // Tasks, regions, logs.
  await page.goto(`${url}#/tasks`);
  await page.waitForSelector("h1");
  await shot("tasks");
  await page.goto(`${url}#/logs`);
  await page.waitForSelector("#logs");
  await shot("logs");

  check(errors.length === 0, `no console errors${errors.length ? ": " + errors.join(" | ") : ""}`);
} catch (e) {
  check(false, `exception: ${e.stack || e}`);
  await shot("failure").catch(() => {});
} finally {
  await context.close();
  const exited = new Promise((resolve) => server.on("exit", (code, sig) => resolve({ code, sig })));
  server.kill("SIGTERM");
  const { code, sig } = await exited;
  check(code === 0, `server stops cleanly on SIGTERM (exit ${code}${sig ? " " + sig : ""})`);
  // Under ASan/UBSan builds the server's reports land on its stderr.
  check(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(stderr), `no sanitizer reports${/Sanitizer|runtime error/.test(stderr) ? ": " + stderr.slice(-2000) : ""}`);
  rmSync(profileDir, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
