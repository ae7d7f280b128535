// Small helpers shared by the pages: fetching, formatting, DOM building, sortable tables.

// api(path): GET a JSON API. While the server still computes the analyses (its second pass over
// the trace) it answers {"computing": true, "progress": n}: say so in the banner and retry.
export async function api(path) {
  for (;;) {
    const res = await fetch(path);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).trim()}`);
    const j = await res.json();
    if (j && j.computing === true) {
      banner(`Computing the analyses (goroutines, profiles, tasks, MMU) over the whole trace… ${j.progress}%`);
      await new Promise((r) => setTimeout(r, 700));
      continue;
    }
    banner(null);
    return j;
  }
}
function banner(text) {
  const b = document.getElementById("banner");
  if (!b) return;
  b.hidden = !text;
  b.textContent = text || "";
}

// fmtDur(1234567) = "1.23ms"
export function fmtDur(ns) {
  if (ns === null || ns === undefined) return "–";
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${trim(ns / 1e3)}µs`;
  if (a < 1e9) return `${trim(ns / 1e6)}ms`;
  return `${trim(ns / 1e9)}s`;
}
function trim(v) {
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}
// fmtTime(3001080123) = "3001.080 ms": a timestamp to the µs, for details and tooltips.
export function fmtTime(ns) {
  if (ns === null || ns === undefined) return "–";
  if (Math.abs(ns) < 1e6) return `${(ns / 1e3).toFixed(3)} µs`;
  return `${(ns / 1e6).toFixed(3)} ms`;
}
export const fmtInt = (n) => Number(n).toLocaleString("en-US");
export const fmtPct = (f) => `${(f * 100).toFixed(1)}%`;

// h("div", {class: "x", onclick: f}, child, "text", ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A sortable table. columns: [{key, label, num?, fmt?, cell?(row)}]; rows: objects.
// sort: {key, desc}; onSort(sort) lets the caller keep the sort in the URL.
export function sortableTable(columns, rows, sort, onSort) {
  const table = h("table", { class: "grid" });
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  const render = () => {
    const col = columns.find((c) => c.key === sort.key) || columns[0];
    const val = col.sortValue || ((r) => r[col.key]);
    const sorted = rows.slice().sort((a, b) => {
      const x = val(a), y = val(b);
      const c = typeof x === "string" ? x.localeCompare(y) : x - y;
      return sort.desc ? -c : c;
    });
    thead.replaceChildren(h("tr", {}, columns.map((c) => h("th", {
      class: [c.num ? "" : "l", c.key === col.key ? (sort.desc ? "sorted-desc" : "sorted-asc") : ""].join(" ").trim(),
      "data-key": c.key,
      onclick: () => {
        sort = { key: c.key, desc: c.key === sort.key ? !sort.desc : !!c.num };
        render();
        if (onSort) onSort(sort);
      },
    }, c.label))));
    tbody.replaceChildren(...sorted.map((r) => h("tr", {}, columns.map((c) => {
      const content = c.cell ? c.cell(r) : c.fmt ? c.fmt(r[c.key]) : r[c.key];
      return h("td", { class: c.num ? "" : "l name" }, content);
    }))));
  };
  render();
  return table;
}

// Query string of the hash route: "#/page?a=1&b=2" → {page, params}.
export function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const page = (q < 0 ? hash : hash.slice(0, q)) || "overview";
  const params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  return { page, params };
}
export function routeUrl(page, params) {
  const s = new URLSearchParams(params).toString();
  return `#/${page}${s ? "?" + s : ""}`;
}

const tooltip = () => document.getElementById("tooltip");
export function showTip(x, y, html) {
  const t = tooltip();
  t.innerHTML = html;
  t.hidden = false;
  const w = t.offsetWidth, hh = t.offsetHeight;
  t.style.left = `${Math.min(x + 14, innerWidth - w - 8)}px`;
  t.style.top = `${Math.min(y + 14, innerHeight - hh - 8)}px`;
}
export function hideTip() { tooltip().hidden = true; }
export function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

// Span kinds (lib/analysis/timeline.h SpanKind) and their colours.
export const KINDS = [
  { name: "none", color: "#ffffff" },
  { name: "running", color: "#34c47c" },
  { name: "runnable", color: "#f5b83d" },
  { name: "waiting", color: "#c4cad4" },
  { name: "syscall", color: "#5b8def" },
  { name: "gc-wait", color: "#f08a5d" },
  { name: "gc", color: "#a78bfa" },
  { name: "stw", color: "#e5484d" },
  { name: "instant", color: "#374151" },
];
// Event type names (lib/format/event_table.h), for labels.
export const EVENT_NAMES = ["None", "Batch", "Frequency", "Stack", "Gomaxprocs", "ProcStart", "ProcStop",
  "GCStart", "GCDone", "GCSTWStart", "GCSTWDone", "GCSweepStart", "GCSweepDone", "GoCreate", "GoStart",
  "GoEnd", "GoStop", "GoSched", "GoPreempt", "GoSleep", "GoBlock", "GoUnblock", "GoBlockSend",
  "GoBlockRecv", "GoBlockSelect", "GoBlockSync", "GoBlockCond", "GoBlockNet", "GoSysCall", "GoSysExit",
  "GoSysBlock", "GoWaiting", "GoInSyscall", "HeapAlloc", "HeapGoal", "TimerGoroutine", "FutileWakeup",
  "String", "GoStartLocal", "GoUnblockLocal", "GoSysExitLocal", "GoStartLabel", "GoBlockGC",
  "GCMarkAssistStart", "GCMarkAssistDone", "UserTaskCreate", "UserTaskEnd", "UserRegion", "UserLog",
  "CPUSample"];
