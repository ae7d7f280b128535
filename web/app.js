// The single-page app: a hash router (#/page?params, so every view is a link) and the pages.
import { api, fmtDur, fmtInt, fmtPct, h, sortableTable, parseRoute, routeUrl, showTip, hideTip, esc } from "./util.js";
import { TimelinePage } from "./timeline.js";
import { FlameGraph } from "./flame.js";

const main = document.getElementById("main");
let overview = null;
let current = null;  // the page object with destroy(), if any

const timelineLink = (t0, t1, extra = {}) => routeUrl("timeline", { lens: "g", t0: Math.max(0, Math.round(t0)), t1: Math.round(t1), ...extra });

async function route() {
  if (current && current.destroy) current.destroy();
  current = null;
  hideTip();
  const { page, params } = parseRoute();
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page);
  main.style.overflow = page === "timeline" ? "hidden" : "auto";
  try {
    if (!overview) {
      overview = await api("/api/overview");
      document.getElementById("file").textContent = `${overview.file} · ${fmtDur(overview.duration_ns)} · ${fmtInt(overview.events)} events`;
    }
    const pages = { overview: Overview, timeline: Timeline, goroutines: Goroutines, profiles: Profiles, tasks: Tasks, mmu: Mmu, logs: Logs };
    const fn = pages[page];
    if (!fn) { main.replaceChildren(pageEl(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Overview")))); return; }
    current = await fn(params);
  } catch (e) {
    main.replaceChildren(pageEl(h("div", { class: "error" }, String(e.message || e))));
    console.warn(e);
  }
}

function pageEl(...children) {
  const el = h("div", { class: "page" }, ...children);
  main.replaceChildren(el);
  return el;
}

// ---- Overview ----
async function Overview() {
  if (!overview.analyses_ready) {
    // Tasks, regions and logs come from the second pass: refresh until it is done.
    setTimeout(async () => {
      if (parseRoute().page !== "overview") return;
      overview = await api("/api/overview");
      if (parseRoute().page === "overview") route();
    }, 1000);
  }
  const o = overview;
  const later = (v) => v === undefined ? "…" : fmtInt(v);
  const card = (k, v, id) => h("div", { class: "card" }, h("div", { class: "k" }, k), h("div", { class: "v", id }, v));
  pageEl(
    h("h1", {}, "Trace overview"),
    h("div", { class: "cards", id: "overview" },
      card("Duration", fmtDur(o.duration_ns), "ov-duration"),
      card("Events", fmtInt(o.events), "ov-events"),
      card("Goroutines", fmtInt(o.goroutines), "ov-goroutines"),
      card("Procs (Ps)", fmtInt(o.procs), "ov-procs"),
      card("Threads", fmtInt(o.threads), "ov-threads"),
      card("GC cycles", fmtInt(o.gc_count), "ov-gc"),
      card("Tasks", later(o.tasks), "ov-tasks"),
      card("Regions", later(o.regions), "ov-regions"),
      card("Logs", later(o.logs), "ov-logs"),
      card("Trace size", `${(o.bytes / 1048576).toFixed(1)} MiB`, "ov-bytes")),
    h("h2", {}, "Parser warnings"),
    o.warnings.length ? h("div", { id: "ov-warnings" }, o.warnings.map((w) => h("div", { class: "warn" }, w)))
      : h("p", { class: "ok", id: "ov-warnings" }, "None: the trace parsed and validated cleanly."),
    h("h2", {}, "Start here"),
    h("ul", {},
      h("li", {}, h("a", { href: "#/timeline?lens=p" }, "Timeline by P"), " — what each processor ran; ", h("a", { href: "#/timeline?lens=g" }, "by goroutine"), ", ", h("a", { href: "#/timeline?lens=m" }, "by thread")),
      h("li", {}, h("a", { href: "#/goroutines" }, "Goroutine analysis"), " — where goroutines spent their time, by start function"),
      h("li", {}, h("a", { href: "#/profiles?mode=sync" }, "Blocking profiles"), " — synchronization, network, syscalls, scheduler latency, as flame graphs"),
      h("li", {}, h("a", { href: "#/tasks" }, "User tasks and regions"), ", ", h("a", { href: "#/mmu" }, "minimum mutator utilization"), ", ", h("a", { href: "#/logs" }, "logs"))),
    h("p", { class: "muted" }, `Trace format ${o.version}; timeline indexed in ${o.load_seconds.toFixed(2)} s (index ${(o.index_bytes / 1048576).toFixed(1)} MiB); ` +
      (o.analyses_ready ? `analyses ${o.analysis_seconds !== undefined ? "computed in " + o.analysis_seconds.toFixed(2) + " s" : "ready"}.` : `analyses being computed: ${o.analyses_progress}%.`)));
}

// ---- Timeline ----
async function Timeline(params) {
  main.replaceChildren();
  const root = h("div", { style: { height: "100%" } });
  main.append(root);
  return new TimelinePage(root, params, overview);
}

// ---- Goroutines ----
const STAT_COLS = [
  ["total_ns", "Total"], ["exec_ns", "Execution"], ["sched_wait_ns", "Sched wait"], ["net_wait_ns", "Network"],
  ["sync_block_ns", "Sync block"], ["syscall_ns", "Syscall"], ["gc_sweep_ns", "GC sweep"], ["gc_pause_ns", "GC pause"],
];
const BAR_COLORS = { exec_ns: "#34c47c", sched_wait_ns: "#f5b83d", net_wait_ns: "#8b5cf6", sync_block_ns: "#ef4444", syscall_ns: "#5b8def", gc_sweep_ns: "#94a3b8" };

function breakdown(stats) {
  const total = Math.max(1, stats.total_ns);
  return h("span", { class: "bars", title: "execution · sched wait · network · sync · syscall · sweep" },
    Object.entries(BAR_COLORS).map(([k, c]) => h("span", { style: { width: `${100 * stats[k] / total}%`, background: c } })));
}

function setParams(page, params) { history.replaceState(null, "", routeUrl(page, params)); }

async function Goroutines(params) {
  const group = params.get("group");
  const gid = params.get("id");
  const sort = { key: params.get("sort") || (group ? "total_ns" : "exec_ns"), desc: params.get("asc") !== "1" };
  const onSort = (s) => setParams("goroutines", { ...Object.fromEntries(params), sort: s.key, asc: s.desc ? "0" : "1" });
  if (!group) {
    const r = await api("/api/goroutines");
    const rows = r.groups.map((g) => ({ ...g, ...g.stats, name: g.start_function || "(unknown)" }));
    const cols = [
      { key: "name", label: "Start function", cell: (g) => h("a", { href: routeUrl("goroutines", { group: `0x${g.pc.toString(16)}` }) }, g.name) },
      { key: "count", label: "Goroutines", num: true, fmt: fmtInt },
      ...STAT_COLS.map(([k, l]) => ({ key: k, label: l, num: true, fmt: fmtDur })),
      { key: "breakdown", label: "Breakdown", sortValue: (g) => g.exec_ns / Math.max(1, g.total_ns), cell: (g) => breakdown(g.stats) },
    ];
    pageEl(h("h1", {}, "Goroutines by start function"),
      h("p", { class: "muted" }, `${rows.length} groups, ${fmtInt(overview.goroutines)} goroutines. Click a column to sort, a function to see its goroutines.`),
      h("div", { id: "groups" }, sortableTable(cols, rows, sort, onSort)));
    return;
  }
  // The server computes a group's goroutines on request, PAGE at a time (one, for one goroutine).
  const PAGE = 1000;
  const first = Math.max(0, parseInt(params.get("first") || "0", 10) || 0);
  const r = await api(`/api/goroutines?group=${encodeURIComponent(group)}` + (gid ? `&id=${encodeURIComponent(gid)}` : `&first=${first}&count=${PAGE}`));
  const rows = r.goroutines.map((g) => ({ ...g, ...g.stats }));
  if (gid) {
    const g = rows.find((x) => String(x.id) === gid);
    if (!g) throw new Error(`no goroutine ${gid} in group ${group}`);
    const end = g.end_ns ?? overview.duration_ns;
    pageEl(h("div", { class: "crumbs" }, h("a", { href: "#/goroutines" }, "Goroutines"), " › ",
      h("a", { href: routeUrl("goroutines", { group }) }, g.start_function || group), " › ", `G${g.id}`),
      h("h1", {}, `Goroutine ${g.id}`),
      h("p", {}, h("a", { class: "btn", href: timelineLink(g.creation_ns, end, { g: g.id }) }, "Open its timeline")),
      h("div", { class: "cards" },
        h("div", { class: "card" }, h("div", { class: "k" }, "Created"), h("div", { class: "v" }, fmtDur(g.creation_ns))),
        h("div", { class: "card" }, h("div", { class: "k" }, "Ended"), h("div", { class: "v" }, g.end_ns === null ? "–" : fmtDur(g.end_ns))),
        STAT_COLS.map(([k, l]) => h("div", { class: "card" }, h("div", { class: "k" }, l), h("div", { class: "v" }, fmtDur(g[k]))))),
      g.regions.length ? [h("h2", {}, "Regions"), sortableTable([
        { key: "name", label: "Region" }, { key: "task_id", label: "Task", num: true },
        { key: "start_ns", label: "Start", num: true, cell: (x) => h("a", { href: timelineLink(x.start_ns ?? 0, x.end_ns ?? end, { g: g.id }) }, fmtDur(x.start_ns)) },
        { key: "dur", label: "Duration", num: true, fmt: fmtDur },
      ], g.regions.map((x) => ({ ...x, dur: (x.end_ns ?? end) - (x.start_ns ?? 0) })), { key: "start_ns", desc: false })] : null);
    return;
  }
  const cols = [
    { key: "id", label: "Goroutine", num: true, cell: (g) => h("a", { href: routeUrl("goroutines", { group, id: g.id }) }, `G${g.id}`) },
    ...STAT_COLS.map(([k, l]) => ({ key: k, label: l, num: true, fmt: fmtDur })),
    { key: "breakdown", label: "Breakdown", sortValue: (g) => g.exec_ns / Math.max(1, g.total_ns), cell: (g) => breakdown(g.stats) },
    { key: "tl", label: "", sortValue: (g) => g.id, cell: (g) => h("a", { href: timelineLink(g.creation_ns, g.end_ns ?? overview.duration_ns, { g: g.id }) }, "timeline") },
  ];
  const name = rows.length ? rows[0].start_function : group;
  const pageLink = (f, label) => h("a", { class: "btn", href: routeUrl("goroutines", { ...Object.fromEntries(params), first: f }) }, label);
  const paged = r.total > rows.length;
  pageEl(h("div", { class: "crumbs" }, h("a", { href: "#/goroutines" }, "Goroutines"), " › ", name),
    h("h1", {}, name),
    h("p", { class: "muted" }, paged
      ? [`${fmtInt(r.total)} goroutines; ${fmtInt(r.first + 1)}–${fmtInt(r.first + rows.length)} by id shown (sorting applies to these). `,
        r.first > 0 ? pageLink(Math.max(0, r.first - PAGE), "‹ previous") : null, " ",
        r.first + rows.length < r.total ? pageLink(r.first + PAGE, "next ›") : null]
      : `${fmtInt(rows.length)} goroutine${rows.length === 1 ? "" : "s"}.`),
    h("div", { id: "goroutines" }, sortableTable(cols, rows, sort, onSort)));
}

// ---- Profiles ----
const MODES = [["sync", "Synchronization"], ["net", "Network"], ["syscall", "Syscalls"], ["sched", "Scheduler latency"], ["schedlat", "Every runnable interval"]];

async function Profiles(params) {
  const mode = params.get("mode") || "sync";
  if (!MODES.some(([m]) => m === mode)) throw new Error(`unknown profile ${mode}`);
  const p = await api(`/api/profile?mode=${mode}`);
  const canvas = h("canvas", { id: "flame" });
  const focusInfo = h("span", { class: "muted" });
  const el = pageEl(
    h("h1", {}, "Blocking profiles"),
    h("div", { class: "tabs" }, MODES.map(([m, l]) => h("a", { href: routeUrl("profiles", { mode: m }), class: m === mode ? "active" : "" }, l))),
    h("div", { class: "row" },
      h("span", {}, `Total ${fmtDur(p.total_ns)} in `, h("b", {}, fmtInt(p.tree[4])), " events"),
      h("a", { class: "btn", href: `/api/pprof?mode=${mode}`, download: `${mode}.pprof.gz`, id: "pprof-link" }, "Download pprof"),
      focusInfo),
    h("h2", {}, "Flame graph"),
    p.total_ns > 0 ? h("div", { class: "flame-wrap" }, canvas) : h("p", { class: "muted", id: "flame-empty" }, "Nothing in this profile for this trace."));
  let flame = null;
  if (p.total_ns > 0) {
    flame = new FlameGraph(canvas, p.tree, (n) => { focusInfo.textContent = n === p.tree ? "" : `focus: ${n[0]} (${fmtDur(n[3])})`; });
  }
  const sort = { key: "flat_ns", desc: true };
  el.append(h("h2", {}, "Top functions"),
    h("div", { id: "top" }, sortableTable([
      { key: "fn", label: "Function", cell: (r) => h("span", { class: "mono", title: r.file }, r.fn) },
      { key: "flat_ns", label: "Flat", num: true, fmt: fmtDur },
      { key: "flat_pct", label: "Flat %", num: true, fmt: fmtPct },
      { key: "cum_ns", label: "Cumulative", num: true, fmt: fmtDur },
      { key: "cum_pct", label: "Cum %", num: true, fmt: fmtPct },
    ], p.top.map((r) => ({ ...r, flat_pct: r.flat_ns / Math.max(1, p.total_ns), cum_pct: r.cum_ns / Math.max(1, p.total_ns) })), sort)));
  if (mode === "sched" || mode === "schedlat") {
    const s = await api("/api/schedlat");
    const t = s.total;
    const maxc = Math.max(1, ...t.histogram.map((b) => b.count));
    el.append(h("h2", {}, "Scheduler latency distribution (every runnable interval)"),
      h("div", { class: "cards" }, [["count", fmtInt(t.count)], ["p50", fmtDur(t.p50_ns)], ["p90", fmtDur(t.p90_ns)], ["p99", fmtDur(t.p99_ns)], ["max", fmtDur(t.max_ns)]]
        .map(([k, v]) => h("div", { class: "card" }, h("div", { class: "k" }, k), h("div", { class: "v" }, v)))),
      h("div", { class: "hist", style: { height: "90px", marginTop: "12px" } }, coarse(t.histogram).map((b) =>
        h("a", { style: { height: `${Math.max(2, 88 * b.count / coarseMax(t.histogram, maxc))}px`, flex: 1 }, title: `${fmtDur(b.min_ns)}–${fmtDur(b.max_ns)}: ${fmtInt(b.count)}` }))),
      h("p", { class: "muted" }, "Buckets from the shortest to the longest latency (hover for ranges)."));
  }
  return flame;
}

// Merge the fine log-linear buckets into at most 60 for display.
function coarse(hist) {
  if (hist.length <= 60) return hist;
  const per = Math.ceil(hist.length / 60), out = [];
  for (let i = 0; i < hist.length; i += per) {
    const g = hist.slice(i, i + per);
    out.push({ min_ns: g[0].min_ns, max_ns: g[g.length - 1].max_ns, count: g.reduce((a, b) => a + b.count, 0) });
  }
  return out;
}
function coarseMax(hist) { return Math.max(1, ...coarse(hist).map((b) => b.count)); }

// ---- Tasks and regions ----
function histogram(hist, onBucket) {
  const maxc = Math.max(1, ...hist.map((b) => b.count));
  return h("div", { class: "hist" }, hist.map((b) => h("a", {
    href: "#", style: { height: `${Math.max(3, 56 * b.count / maxc)}px` }, title: `${fmtDur(b.min_ns)}–${fmtDur(b.max_ns)}: ${b.count}`,
    onclick: (e) => { e.preventDefault(); onBucket(b); },
  })));
}

async function Tasks(params) {
  const kind = params.get("kind");
  const type = params.get("type");
  if (type !== null && kind) {
    const lo = Number(params.get("min") || 0), hi = Number(params.get("max") || Infinity);
    const r = kind === "task" ? await api(`/api/tasks?type=${encodeURIComponent(type)}`) : await api(`/api/regions?type=${encodeURIComponent(type)}`);
    const rows = (kind === "task" ? r.tasks : r.regions).filter((x) => x.duration_ns >= lo && x.duration_ns < hi);
    const cols = kind === "task" ? [
      { key: "id", label: "Task", num: true },
      { key: "create_ns", label: "Start", num: true, cell: (t) => h("a", { href: timelineLink(t.create_ns ?? 0, t.end_ns ?? overview.duration_ns, t.goroutines.length ? { g: t.goroutines[0] } : {}) }, fmtDur(t.create_ns)) },
      { key: "duration_ns", label: "Duration", num: true, fmt: fmtDur },
      { key: "complete", label: "Complete", sortValue: (t) => t.complete ? 1 : 0, cell: (t) => t.complete ? "yes" : "no" },
      { key: "goroutines", label: "Goroutines", sortValue: (t) => t.goroutines.length, cell: (t) => t.goroutines.map((g) => `G${g}`).join(" ") },
      { key: "logs", label: "Logs", num: true, sortValue: (t) => t.logs.length, cell: (t) => String(t.logs.length) },
    ] : [
      { key: "g", label: "Goroutine", num: true, cell: (x) => `G${x.g}` },
      { key: "task_id", label: "Task", num: true },
      { key: "start_ns", label: "Start", num: true, cell: (x) => h("a", { href: timelineLink(x.start_ns ?? 0, x.end_ns ?? overview.duration_ns, { g: x.g }) }, fmtDur(x.start_ns)) },
      { key: "duration_ns", label: "Duration", num: true, fmt: fmtDur },
      ...STAT_COLS.slice(1, 6).map(([k, l]) => ({ key: k, label: l, num: true, sortValue: (x) => x.stats[k], cell: (x) => fmtDur(x.stats[k]) })),
    ];
    pageEl(h("div", { class: "crumbs" }, h("a", { href: "#/tasks" }, "Tasks & regions"), " › ", `${kind} ${type}`),
      h("h1", {}, `${kind === "task" ? "Task" : "Region"} type “${type}”`),
      h("p", { class: "muted" }, `${rows.length} instances${params.has("min") ? ` with duration in [${fmtDur(lo)}, ${fmtDur(hi)})` : ""}. The start time opens the timeline.`),
      sortableTable(cols, rows, { key: "duration_ns", desc: false }));
    return;
  }
  const [tasks, regions] = await Promise.all([api("/api/tasks"), api("/api/regions")]);
  const open = (k, t) => (b) => { location.hash = routeUrl("tasks", { kind: k, type: t, min: b.min_ns, max: b.max_ns }); };
  const pct = (d, k) => d ? fmtDur(d[k]) : "–";
  pageEl(h("h1", {}, "User tasks"),
    tasks.task_types.length ? h("table", { class: "grid", id: "task-types" }, h("tr", {}, ["Type", "Count", "Complete", "p50", "p90", "max", "Histogram (click a bucket)"].map((c, i) => h("th", { class: i === 0 || i === 6 ? "l" : "" }, c))),
      tasks.task_types.map((t) => h("tr", {},
        h("td", { class: "l" }, h("a", { href: routeUrl("tasks", { kind: "task", type: t.type }) }, t.type || "(unnamed)")),
        h("td", {}, fmtInt(t.count)), h("td", {}, fmtInt(t.complete)), h("td", {}, pct(t.duration, "p50_ns")), h("td", {}, pct(t.duration, "p90_ns")), h("td", {}, pct(t.duration, "max_ns")),
        h("td", { class: "l" }, histogram(t.histogram, open("task", t.type))))))
      : h("p", { class: "muted" }, "No user tasks in this trace (runtime/trace.NewTask)."),
    h("h1", { style: { marginTop: "28px" } }, "User regions"),
    regions.region_types.length ? h("table", { class: "grid", id: "region-types" }, h("tr", {}, ["Type", "Where", "Count", "p50", "p90", "max", "Histogram (click a bucket)"].map((c, i) => h("th", { class: i <= 1 || i === 6 ? "l" : "" }, c))),
      regions.region_types.map((t) => h("tr", {},
        h("td", { class: "l" }, h("a", { href: routeUrl("tasks", { kind: "region", type: t.type }) }, t.type)),
        h("td", { class: "l mono", title: `${t.file}:${t.line}` }, t.function),
        h("td", {}, fmtInt(t.count)), h("td", {}, pct(t.duration, "p50_ns")), h("td", {}, pct(t.duration, "p90_ns")), h("td", {}, pct(t.duration, "max_ns")),
        h("td", { class: "l" }, histogram(t.histogram, open("region", t.type))))))
      : h("p", { class: "muted" }, "No user regions in this trace (runtime/trace.WithRegion)."));
}

// ---- MMU ----
async function Mmu(params) {
  const m = await api("/api/mmu");
  const canvas = h("canvas", { id: "mmu-chart" });
  const worst = h("div", { id: "mmu-worst" });
  pageEl(h("h1", {}, "Minimum mutator utilization"),
    h("p", { class: "muted" }, `The worst fraction of time the program ran user code, over every window of a given size (GC: ${m.flags}). Click the curve for the worst windows of that size.`),
    h("div", { class: "chart-wrap" }, canvas), worst);
  const chart = new MmuChart(canvas, m.curve, async (win) => {
    const r = await api(`/api/mmu?window=${win}`);
    const w = r.worst[0];
    setParams("mmu", { window: win });
    worst.replaceChildren(h("h2", {}, `Worst ${fmtDur(w.window_ns)} windows`),
      sortableTable([
        { key: "time_ns", label: "Window start", num: true, cell: (x) => h("a", { href: routeUrl("timeline", { lens: "p", t0: x.time_ns, t1: x.time_ns + w.window_ns }) }, fmtDur(x.time_ns)) },
        { key: "mutator_util", label: "Mutator utilization", num: true, fmt: fmtPct },
      ], w.windows, { key: "mutator_util", desc: false }));
  });
  if (params.has("window")) chart.select(Number(params.get("window")));
  return chart;
}

class MmuChart {
  constructor(canvas, curve, onPick) {
    this.canvas = canvas;
    this.curve = curve.filter((p) => p[0] > 0);
    this.onPick = onPick;
    this.obs = new ResizeObserver(() => this.paint());
    this.obs.observe(canvas);
    canvas.addEventListener("mousemove", (e) => this.hover(e));
    canvas.addEventListener("mouseleave", () => { this.hoverI = -1; hideTip(); this.paint(); });
    canvas.addEventListener("click", (e) => { const i = this.nearest(e); if (i >= 0) this.select(this.curve[i][0]); });
  }
  destroy() { this.obs.disconnect(); hideTip(); }
  select(win) { this.selected = win; this.paint(); this.onPick(win); }
  geom() {
    const L = 56, R = 16, T = 14, B = 34;
    const w = this.w - L - R, hh = this.h - T - B;
    const xs = this.curve.map((p) => Math.log10(p[0]));
    const x0 = Math.min(...xs), x1 = Math.max(...xs);
    return { L, T, w, hh, X: (v) => L + (Math.log10(v) - x0) / Math.max(1e-9, x1 - x0) * w, Y: (u) => T + (1 - u) * hh, x0, x1 };
  }
  nearest(e) {
    const r = this.canvas.getBoundingClientRect(), x = e.clientX - r.left;
    const g = this.geom();
    let best = -1, bd = 12;
    this.curve.forEach((p, i) => { const d = Math.abs(g.X(p[0]) - x); if (d < bd) { bd = d; best = i; } });
    return best;
  }
  hover(e) {
    const i = this.nearest(e);
    this.hoverI = i;
    this.paint();
    if (i < 0) { hideTip(); return; }
    const p = this.curve[i];
    showTip(e.clientX, e.clientY, `window ${esc(fmtDur(p[0]))}: MMU ${(p[1] * 100).toFixed(2)}%`);
  }
  paint() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    this.w = c.clientWidth; this.h = c.clientHeight;
    c.width = Math.round(this.w * dpr); c.height = Math.round(this.h * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    if (!this.curve.length) return;
    const g = this.geom();
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#6b7280";
    ctx.strokeStyle = "#e5e7eb";
    for (let u = 0; u <= 1.0001; u += 0.25) {
      const y = g.Y(u);
      ctx.beginPath(); ctx.moveTo(g.L, y); ctx.lineTo(g.L + g.w, y); ctx.stroke();
      ctx.fillText(`${Math.round(u * 100)}%`, 14, y + 4);
    }
    for (let d = Math.ceil(g.x0); d <= g.x1; d++) {
      const x = g.X(Math.pow(10, d));
      ctx.beginPath(); ctx.moveTo(x, g.T); ctx.lineTo(x, g.T + g.hh); ctx.stroke();
      ctx.fillText(fmtDur(Math.pow(10, d)), x - 10, g.T + g.hh + 18);
    }
    ctx.strokeStyle = "#2563eb";
    ctx.lineWidth = 2;
    ctx.beginPath();
    this.curve.forEach((p, i) => { const x = g.X(p[0]), y = g.Y(p[1]); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = "#2563eb";
    this.curve.forEach((p, i) => {
      const r = i === this.hoverI || p[0] === this.selected ? 4.5 : 2;
      ctx.beginPath(); ctx.arc(g.X(p[0]), g.Y(p[1]), r, 0, 2 * Math.PI); ctx.fill();
    });
    c.dataset.points = String(this.curve.length);
  }
}

// ---- Logs ----
async function Logs(params) {
  const q = params.get("q") || "";
  const r = await api(`/api/logs${q ? "?q=" + encodeURIComponent(q) : ""}`);
  const input = h("input", { type: "search", value: q, placeholder: "Filter category or message", id: "log-filter",
    onkeydown: (e) => { if (e.key === "Enter") location.hash = routeUrl("logs", input.value ? { q: input.value } : {}); } });
  const rows = r.logs.slice(0, 20000);
  pageEl(h("h1", {}, "User logs"), h("div", { class: "row" }, input, h("span", { class: "muted" }, `${fmtInt(r.logs.length)} entries${rows.length < r.logs.length ? ", first 20 000 shown" : ""}`)),
    h("div", { style: { marginTop: "12px" }, id: "logs" }, rows.length ? sortableTable([
      { key: "ts_ns", label: "Time", num: true, cell: (l) => h("a", { href: timelineLink(l.ts_ns - 50000, l.ts_ns + 50000, { g: l.g }) }, fmtDur(l.ts_ns)) },
      { key: "g", label: "Goroutine", num: true, cell: (l) => `G${l.g}` },
      { key: "task_id", label: "Task", num: true },
      { key: "category", label: "Category" },
      { key: "message", label: "Message" },
    ], rows, { key: "ts_ns", desc: false }) : h("p", { class: "muted" }, "No user logs (runtime/trace.Log).")));
}

window.addEventListener("hashchange", route);
route();
