// The timeline: one canvas, three lenses (G, P, M) over the shared GC/STW/network/timer/syscall
// lanes. The server merges spans below one pixel (/api/spans), so a response is bounded by what is
// visible; this file only draws, keeps a cache half a screen wide on each side, and handles input.
//
// Input: drag or A/D pans, wheel scrolls the rows, Ctrl/Alt+wheel or W/S zooms, Shift+drag selects
// a time range, click selects a span, F fits the whole trace. The URL keeps lens, range, first row,
// selection and time selection, so a copied link reopens the same view.
import { api, fmtDur, fmtTime, fmtInt, h, esc, KINDS, EVENT_NAMES, showTip, hideTip, routeUrl } from "./util.js";

const GUTTER = 210;       // label column, px
const AXIS = 26;          // time axis, px
const LANE_H = 16;        // GC/STW/... lanes, pinned under the axis
const ROW_H = 20;         // goroutine / P / M rows
const LANES = 5;
const COUNTER_H = 30;     // each counter track (goroutines, heap), pinned under the lanes
const COUNTERS = 2;

const SHORT = {
  GoBlockSend: "chan send", GoBlockRecv: "chan recv", GoBlockSelect: "select", GoBlockSync: "sync",
  GoBlockCond: "cond", GoBlockNet: "network", GoBlockGC: "GC assist wait", GoSleep: "sleep",
  GoBlock: "blocked", GoStop: "stopped", GoWaiting: "waiting", GoSysBlock: "syscall",
  GoInSyscall: "syscall", GoCreate: "created", GoUnblock: "unblocked", GoSched: "yielded",
  GoPreempt: "preempted", GoSysExit: "syscall exit",
};

export class TimelinePage {
  constructor(root, params, overview) {
    this.root = root;
    this.overview = overview;
    this.end = Math.max(1, overview.duration_ns);
    this.lens = ["g", "p", "m"].includes(params.get("lens")) ? params.get("lens") : "p";
    const t0 = Number(params.get("t0")), t1 = Number(params.get("t1"));
    this.t0 = Number.isFinite(t0) && params.has("t0") ? t0 : 0;
    this.t1 = Number.isFinite(t1) && params.has("t1") && t1 > this.t0 ? t1 : this.end;
    this.row = Math.max(0, Number(params.get("row")) || 0);   // first visible non-lane row
    this.sel = null;       // {track, ts}
    this.range = null;     // {r0, r1}
    this.total = LANES;    // tracks in the lens (lanes included)
    this.labels = new Map();  // track → {label, id}
    this.labelReq = new Set();
    this.cache = null;     // {lens, t0, t1, res, first, count, tracks: Map}
    this.laneCache = null;
    this.gen = 0;
    this.inflight = false;
    this.highlightRow = -1;
    this.arrows = params.get("arrows") !== "0";
    if (params.has("sel")) {
      const [tr, ts] = params.get("sel").split(":").map(Number);
      if (Number.isFinite(tr) && Number.isFinite(ts)) this.sel = { track: tr, ts };
    }
    if (params.has("r0") && params.has("r1")) {
      const r0 = Number(params.get("r0")), r1 = Number(params.get("r1"));
      if (Number.isFinite(r0) && Number.isFinite(r1) && r1 > r0) this.range = { r0, r1 };
    }
    this.build();
    this.loadLens(params.get("g"));
  }

  build() {
    const lensBtn = (l, label) => h("button", {
      class: this.lens === l ? "active" : "", "data-lens": l,
      onclick: () => this.setLens(l),
    }, label);
    this.search = h("input", { type: "search", placeholder: "Find goroutine: id or function", id: "tl-search",
      onkeydown: (e) => { if (e.key === "Enter") this.find(this.search.value.trim()); e.stopPropagation(); } });
    this.arrowBox = h("input", { type: "checkbox", checked: this.arrows, onchange: () => { this.arrows = this.arrowBox.checked; this.draw(); this.saveUrl(); } });
    this.toolbar = h("div", { class: "tl-toolbar" },
      h("span", { class: "seg" }, lensBtn("p", "Procs"), lensBtn("m", "Threads"), lensBtn("g", "Goroutines")),
      this.search,
      h("label", { class: "muted" }, this.arrowBox, " flow arrows"),
      h("button", { class: "btn", onclick: () => this.fit() }, "Fit"),
      h("span", { class: "hint" }, "drag / A D: pan · Ctrl+wheel / W S: zoom · wheel: scroll · Shift+drag: select range · click: details"));
    this.canvas = h("canvas", { tabindex: 0, id: "tl-canvas" });
    this.side = h("div", { class: "tl-side", id: "tl-side" });
    this.root.replaceChildren(h("div", { class: "tl" }, this.toolbar,
      h("div", { class: "tl-body" }, h("div", { class: "tl-canvas-wrap" }, this.canvas), this.side)));
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: false });
    window.tracetoolTimeline = this;  // tests read geometry (x, trackY) from here
    this.bindInput();
    this.resizeObs = new ResizeObserver(() => this.resize());
    this.resizeObs.observe(this.canvas.parentElement);
    this.resize();
    this.renderSide();
  }

  destroy() {
    this.resizeObs.disconnect();
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("mousemove", this.onMove);
    window.removeEventListener("mouseup", this.onUp);
    hideTip();
  }

  async loadLens(goroutine) {
    const gen = ++this.gen;
    const info = await api(`/api/tracks?lens=${this.lens}&first=0&count=300`);
    if (gen !== this.gen) return;
    this.total = info.total;
    this.labels.clear();
    for (const t of info.tracks) this.labels.set(t.i, t);
    if (!info.named && this.lens === "g") setTimeout(() => { this.labels.delete(0); this.fetchLabels(0, 1); }, 2000);
    if (goroutine) {
      const r = await api(`/api/find?q=${encodeURIComponent(goroutine)}`);
      const hit = r.hits.find((x) => String(x.g) === String(goroutine));
      if (hit && hit.track >= 0) this.scrollToTrack(hit.track, false);
    }
    this.row = Math.min(this.row, Math.max(0, this.total - LANES - 1));
    this.cache = null;
    this.laneCache = null;
    this.request();
    if (this.sel) this.loadDetail(this.sel.track, this.sel.ts, 0);
    this.draw();
  }

  setLens(l) {
    if (l === this.lens) return;
    this.lens = l;
    this.row = 0;
    this.sel = null;
    this.detail = null;
    for (const b of this.toolbar.querySelectorAll("[data-lens]")) b.classList.toggle("active", b.dataset.lens === l);
    this.loadLens();
    this.renderSide();
    this.saveUrl();
  }

  fit() { this.t0 = 0; this.t1 = this.end; this.changed(); }

  // ---- geometry ----
  get plotW() { return Math.max(10, this.w - GUTTER); }
  get countersTop() { return AXIS + LANES * LANE_H + 2; }
  get rowsTop() { return this.countersTop + COUNTERS * COUNTER_H + 6; }
  get visibleRows() { return Math.ceil((this.h - this.rowsTop) / ROW_H) + 1; }
  x(t) { return GUTTER + (t - this.t0) * this.plotW / (this.t1 - this.t0); }
  tAt(x) { return this.t0 + (x - GUTTER) * (this.t1 - this.t0) / this.plotW; }
  trackY(track) {
    if (track < LANES) return AXIS + track * LANE_H;
    return this.rowsTop + (track - LANES - this.row) * ROW_H;
  }
  trackAt(y) {
    if (y < AXIS) return -1;
    if (y < AXIS + LANES * LANE_H) return Math.floor((y - AXIS) / LANE_H);
    if (y < this.rowsTop) return -1;
    const t = LANES + this.row + Math.floor((y - this.rowsTop) / ROW_H);
    return t < this.total ? t : -1;
  }

  resize() {
    const r = this.canvas.parentElement.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.w = Math.max(100, r.width);
    this.h = Math.max(100, r.height);
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.request();
    this.draw();
  }

  // ---- data ----
  changed() {
    const span = this.t1 - this.t0;
    if (span < 1000) { const c = (this.t0 + this.t1) / 2; this.t0 = c - 500; this.t1 = c + 500; }
    const maxRow = Math.max(0, this.total - LANES - this.visibleRows + 2);
    this.row = Math.max(0, Math.min(this.row, maxRow));
    this.draw();
    this.request();
    this.saveUrlSoon();
  }

  needs(cache, first, count) {
    if (!cache || cache.lens !== this.lens) return true;
    const res = (this.t1 - this.t0) / this.plotW;
    if (this.t0 < cache.t0 && cache.t0 > 0) return true;
    if (this.t1 > cache.t1 && cache.t1 < this.end) return true;
    if (cache.res > res * 1.6 || cache.res < res / 4) return true;
    return first < cache.first || first + count > cache.first + cache.count;
  }

  async request() {
    if (!this.w || this.inflight) { this.pending = true; return; }
    const rowsFirst = LANES + this.row, rowsCount = Math.min(this.visibleRows, this.total - rowsFirst);
    const wantLanes = this.needs(this.laneCache, 0, LANES);
    const wantRows = rowsCount > 0 && this.needs(this.cache, rowsFirst, rowsCount);
    if (!wantLanes && !wantRows) return;
    const span = this.t1 - this.t0;
    // Half a screen of margin on each side: small pans redraw from the cache at once.
    const t0 = Math.max(0, Math.floor(this.t0 - span / 2)), t1 = Math.min(this.end, Math.ceil(this.t1 + span / 2));
    const width = Math.max(1, Math.round(this.plotW * (t1 - t0) / span));
    const res = (t1 - t0) / width;
    const lens = this.lens, gen = this.gen;
    this.inflight = true;
    this.pending = false;
    try {
      const jobs = [];
      if (wantLanes) {
        jobs.push(this.fetchSpans(lens, 0, LANES, t0, t1, width).then((m) => {
          if (gen === this.gen) this.laneCache = { lens, t0, t1, res, first: 0, count: LANES, tracks: m };
        }));
        jobs.push(api(`/api/counters?t0=${t0}&t1=${t1}&width=${width}`).then((c) => { this.counters = c; }));
      }
      if (wantRows) {
        const first = Math.max(LANES, rowsFirst - 20), count = Math.min(this.total - first, rowsCount + 40);
        jobs.push(this.fetchSpans(lens, first, count, t0, t1, width).then((m) => {
          if (gen === this.gen) this.cache = { lens, t0, t1, res, first, count, tracks: m };
        }));
        this.fetchLabels(first, count);
      }
      await Promise.all(jobs);
    } catch (e) {
      this.error = String(e);
    } finally {
      this.inflight = false;
    }
    this.draw();
    if (this.pending || this.needs(this.cache, LANES + this.row, Math.min(this.visibleRows, this.total - LANES - this.row))) {
      this.pending = false;
      this.request();
    }
  }

  async fetchSpans(lens, first, count, t0, t1, width) {
    const started = performance.now();
    const r = await api(`/api/spans?lens=${lens}&first=${first}&count=${count}&t0=${t0}&t1=${t1}&width=${width}`);
    this.lastFetchMs = performance.now() - started;
    const m = new Map();
    const a = r.spans;
    for (let i = 0; i < a.length; i += 8) {
      let arr = m.get(a[i]);
      if (!arr) m.set(a[i], arr = []);
      arr.push([a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7]]);
    }
    this.spansDrawnAt = performance.now();
    return m;
  }

  async fetchLabels(first, count) {
    const chunk = 200;
    for (let c = Math.floor(first / chunk) * chunk; c < first + count; c += chunk) {
      if (this.labelReq.has(`${this.lens}:${c}`) || this.labels.has(c) && this.labels.has(Math.min(this.total - 1, c + chunk - 1))) continue;
      this.labelReq.add(`${this.lens}:${c}`);
      const lens = this.lens;
      api(`/api/tracks?lens=${lens}&first=${c}&count=${chunk}`).then((r) => {
        if (lens !== this.lens) return;
        for (const t of r.tracks) this.labels.set(t.i, t);
        // Start functions come with the background analyses: ask again until they are in.
        if (!r.named && lens === "g") setTimeout(() => { this.labelReq.delete(`${lens}:${c}`); this.labels.delete(c); this.fetchLabels(c, 1); }, 2000);
        this.draw();
      }).catch((e) => { this.error = String(e); });
    }
  }

  spansOf(track) {
    const c = track < LANES ? this.laneCache : this.cache;
    return c && c.lens === this.lens ? c.tracks.get(track) : undefined;
  }

  // ---- drawing ----
  draw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => { this.drawQueued = false; this.paint(); });
  }

  paint() {
    const ctx = this.ctx, W = this.w, H = this.h;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, H);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const firstRow = LANES + this.row, lastRow = Math.min(this.total, firstRow + this.visibleRows);
    // Row backgrounds and labels.
    for (let t = firstRow; t < lastRow; t++) {
      const y = this.trackY(t);
      if (t % 2) { ctx.fillStyle = "#f8fafc"; ctx.fillRect(0, y, W, ROW_H); }
      if (t === this.highlightRow) { ctx.fillStyle = "#fef9c3"; ctx.fillRect(0, y, W, ROW_H); }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, this.rowsTop, W - GUTTER, H - this.rowsTop);
    ctx.clip();
    for (let t = firstRow; t < lastRow; t++) this.paintTrack(t, this.trackY(t) + 2, ROW_H - 4);
    if (this.arrows && this.lens === "g") this.paintArrows(firstRow, lastRow);
    ctx.restore();
    // Lanes band.
    ctx.fillStyle = "#f3f4f6";
    ctx.fillRect(0, AXIS, W, this.rowsTop - AXIS);
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, AXIS, W - GUTTER, LANES * LANE_H);
    ctx.clip();
    for (let t = 0; t < LANES; t++) this.paintTrack(t, this.trackY(t) + 2, LANE_H - 4);
    ctx.restore();
    this.paintCounters();
    // Gutter labels.
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, this.rowsTop, GUTTER - 1, H - this.rowsTop);
    for (let t = 0; t < LANES; t++) {
      ctx.fillStyle = "#4b5563";
      ctx.fillText((this.labels.get(t) || {}).label || "", 10, this.trackY(t) + LANE_H / 2);
    }
    if (this.counters) {
      const m = this.counters.max;
      ctx.fillText("Goroutines", 10, this.countersTop + 9);
      ctx.fillText("Heap", 10, this.countersTop + COUNTER_H + 9);
      ctx.fillStyle = "#9ca3af";
      ctx.fillText(`max ${m.running} running, ${m.runnable} runnable`, 10, this.countersTop + 21);
      ctx.fillText(`max ${fmtBytes(m.heap)} allocated`, 10, this.countersTop + COUNTER_H + 21);
    }
    for (let t = firstRow; t < lastRow; t++) {
      const y = this.trackY(t);
      if (t % 2) { ctx.fillStyle = "#f8fafc"; ctx.fillRect(0, y, GUTTER - 1, ROW_H); }
      if (t === this.highlightRow) { ctx.fillStyle = "#fef9c3"; ctx.fillRect(0, y, GUTTER - 1, ROW_H); }
      const l = this.labels.get(t);
      ctx.fillStyle = "#111827";
      ctx.fillText(clip(ctx, l ? l.label : "…", GUTTER - 16), 10, y + ROW_H / 2);
    }
    ctx.fillStyle = "#e5e7eb";
    ctx.fillRect(GUTTER - 1, AXIS, 1, H - AXIS);
    // Selection range overlay.
    const rng = this.dragRange || this.range;
    if (rng) {
      const a = Math.max(GUTTER, this.x(rng.r0)), b = Math.min(W, this.x(rng.r1));
      if (b > a) {
        ctx.fillStyle = "rgba(37, 99, 235, 0.10)";
        ctx.fillRect(a, AXIS, b - a, H - AXIS);
        ctx.fillStyle = "rgba(37, 99, 235, 0.7)";
        ctx.fillRect(a, AXIS, 1, H - AXIS);
        ctx.fillRect(b - 1, AXIS, 1, H - AXIS);
      }
    }
    this.paintAxis();
    this.paintScrollbar();
    if (this.error) {
      ctx.fillStyle = "#991b1b";
      ctx.fillText(this.error, GUTTER + 8, H - 12);
    }
    this.painted = (this.painted || 0) + 1;
    this.canvas.dataset.painted = String(this.painted);
    this.canvas.dataset.view = `${this.lens}:${Math.round(this.t0)}:${Math.round(this.t1)}:${this.row}`;
    // For tests and benchmarks: data for the current view is on screen.
    const rowsOk = this.total <= LANES || (this.cache && this.cache.lens === this.lens);
    this.canvas.dataset.ready = !this.inflight && rowsOk && this.laneCache && this.laneCache.lens === this.lens ? "1" : "0";
  }

  paintTrack(track, y, hh) {
    const spans = this.spansOf(track);
    if (!spans) return;
    const ctx = this.ctx, W = this.w;
    const sel = this.sel && this.sel.track === track ? this.sel : null;
    for (const s of spans) {
      let x0 = this.x(s[0]), x1 = this.x(s[1]);
      if (x1 < GUTTER || x0 > W) continue;
      const kind = s[2];
      if (kind === 8) {  // instant
        ctx.fillStyle = KINDS[8].color;
        ctx.fillRect(Math.round(x0) - 1, y, 2, hh);
        continue;
      }
      x0 = Math.max(GUTTER - 2, x0);
      x1 = Math.min(W + 2, x1);
      const w = Math.max(1, x1 - x0);
      ctx.globalAlpha = s[5] > 1 ? 0.3 + 0.7 * s[6] / 15 : 1;
      ctx.fillStyle = KINDS[kind] ? KINDS[kind].color : "#999";
      ctx.fillRect(x0, y, w, hh);
      ctx.globalAlpha = 1;
      if (w > 46 && s[5] === 1) {
        const text = this.spanText(track, s);
        if (text) {
          ctx.fillStyle = kind === 1 || kind === 4 || kind === 6 || kind === 7 ? "#ffffff" : "#1f2937";
          ctx.fillText(clip(ctx, text, w - 8), Math.max(x0, GUTTER) + 4, y + hh / 2 + 0.5);
        }
      }
      if (sel && s[0] <= sel.ts && sel.ts <= s[1]) {
        ctx.strokeStyle = "#111827";
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 + 1, y - 1, Math.max(1, w - 2), hh + 2);
      }
    }
  }

  spanText(track, s) {
    const kind = s[2], ev = EVENT_NAMES[s[3]] || "";
    if (track < LANES) return kind === 6 ? "GC" : kind === 7 ? "STW" : "";
    if (this.lens === "p") return kind === 1 ? `G${s[4]}` : "";
    if (this.lens === "m") return kind === 1 ? `P${s[4]}` : "";
    if (kind === 1) return `running on P${s[4]}`;
    if (kind === 2) return SHORT[ev] ? `runnable (${SHORT[ev]})` : "runnable";
    return SHORT[ev] || KINDS[kind].name;
  }

  paintArrows(firstRow, lastRow) {
    const idRow = new Map();
    for (let t = firstRow; t < lastRow; t++) { const l = this.labels.get(t); if (l) idRow.set(l.id, t); }
    const ctx = this.ctx;
    ctx.strokeStyle = "rgba(17, 24, 39, 0.55)";
    ctx.fillStyle = "rgba(17, 24, 39, 0.55)";
    ctx.lineWidth = 1;
    let n = 0;
    for (let t = firstRow; t < lastRow && n < 800; t++) {
      const spans = this.spansOf(t);
      if (!spans) continue;
      for (const s of spans) {
        if (s[2] !== 2 || s[5] !== 1 || !s[4] || (s[3] !== 21 && s[3] !== 13)) continue;
        const from = idRow.get(s[4]);
        if (from === undefined || from === t) continue;
        const x = this.x(s[0]);
        if (x < GUTTER || x > this.w) continue;
        const y0 = this.trackY(from) + ROW_H / 2, y1 = this.trackY(t) + (from < t ? 2 : ROW_H - 2);
        ctx.beginPath();
        ctx.moveTo(x, y0);
        ctx.lineTo(x, y1);
        ctx.stroke();
        const d = from < t ? -1 : 1;
        ctx.beginPath();
        ctx.moveTo(x, y1);
        ctx.lineTo(x - 3, y1 + 5 * d);
        ctx.lineTo(x + 3, y1 + 5 * d);
        ctx.fill();
        n++;
      }
    }
  }

  // Counter tracks as step areas: per pixel column the server's max (the min shows as a lighter
  // band when a column saw several values). Goroutines: running (green) under runnable (amber).
  paintCounters() {
    const c = this.counters;
    if (!c) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, this.countersTop, this.w - GUTTER, COUNTERS * COUNTER_H);
    ctx.clip();
    const area = (series, top, scale, color, base) => {
      const a = c.series[series];
      for (let i = 0; i < a.length; i += 3) {
        const x0 = this.x(a[i]);
        const x1 = i + 3 < a.length ? this.x(a[i + 3]) : this.x(Math.min(this.end, c.t1 || this.end));
        if (x1 < GUTTER || x0 > this.w) continue;
        const hv = a[i + 2] * scale, b = base ? base(a[i]) : 0;
        ctx.fillStyle = color;
        ctx.fillRect(x0, top + COUNTER_H - 2 - (b + hv), Math.max(1, x1 - x0), hv);
      }
    };
    const gmax = Math.max(1, c.max.running + c.max.runnable);
    const gs = (COUNTER_H - 4) / gmax;
    const runningAt = (t) => valueAt(c.series.running, t) * gs;
    area("running", this.countersTop, gs, KINDS[1].color);
    area("runnable", this.countersTop, gs, KINDS[2].color, runningAt);
    area("heap", this.countersTop + COUNTER_H, (COUNTER_H - 4) / Math.max(1, c.max.heap), "#8b9cf6");
    ctx.restore();
    ctx.fillStyle = "#e5e7eb";
    ctx.fillRect(GUTTER, this.countersTop + COUNTER_H, this.w - GUTTER, 1);
  }

  paintAxis() {
    const ctx = this.ctx, W = this.w;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, AXIS);
    ctx.fillStyle = "#e5e7eb";
    ctx.fillRect(0, AXIS - 1, W, 1);
    const span = this.t1 - this.t0;
    const step = niceStep(span / Math.max(1, this.plotW / 110));
    ctx.fillStyle = "#4b5563";
    ctx.font = "11px system-ui, sans-serif";
    const big = Math.max(Math.abs(this.t0), Math.abs(this.t1));
    const [unit, suffix] = big < 1e3 ? [1, "ns"] : big < 1e6 ? [1e3, "µs"] : big < 1e9 ? [1e6, "ms"] : [1e9, "s"];
    const digits = Math.min(6, Math.max(0, Math.ceil(Math.log10(unit / step) - 1e-9)));
    for (let t = Math.ceil(this.t0 / step) * step; t <= this.t1; t += step) {
      const x = this.x(t);
      ctx.fillRect(x, AXIS - 7, 1, 6);
      ctx.fillText(`${(t / unit).toFixed(digits)}${suffix}`, x + 3, AXIS / 2);
    }
    ctx.fillStyle = "#6b7280";
    ctx.fillText(`${fmtDur(span)} visible`, 10, AXIS / 2);
  }

  paintScrollbar() {
    const rows = this.total - LANES;
    if (rows <= this.visibleRows) return;
    const ctx = this.ctx;
    const top = this.rowsTop, hh = this.h - top;
    const th = Math.max(20, hh * this.visibleRows / rows);
    const y = top + (hh - th) * this.row / Math.max(1, rows - this.visibleRows);
    ctx.fillStyle = "rgba(17, 24, 39, 0.25)";
    ctx.fillRect(this.w - 7, y, 5, th);
  }

  // ---- input ----
  bindInput() {
    const c = this.canvas;
    c.addEventListener("mousedown", (e) => {
      c.focus();
      const r = c.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      this.drag = { x, y, sx: e.clientX, sy: e.clientY, t0: this.t0, t1: this.t1, row: this.row, shift: e.shiftKey, moved: false };
      if (x > this.w - 10 && y > this.rowsTop) this.drag.scrollbar = true;
      e.preventDefault();
    });
    this.onMove = (e) => {
      const r = c.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      this.mouse = { x, y };
      const d = this.drag;
      if (!d) { this.hover(x, y, e); return; }
      const dx = e.clientX - d.sx, dy = e.clientY - d.sy;
      if (Math.abs(dx) + Math.abs(dy) > 3) d.moved = true;
      if (!d.moved) return;
      hideTip();
      if (d.scrollbar) {
        const rows = this.total - LANES;
        this.row = Math.round(d.row + dy * rows / (this.h - this.rowsTop));
        this.changed();
      } else if (d.shift) {
        const a = this.tAt(d.x), b = this.tAt(x);
        this.dragRange = { r0: Math.max(0, Math.min(a, b)), r1: Math.min(this.end, Math.max(a, b)) };
        this.draw();
      } else {
        c.classList.add("dragging");
        const dt = dx * (d.t1 - d.t0) / this.plotW;
        this.t0 = d.t0 - dt;
        this.t1 = d.t1 - dt;
        this.row = d.row - Math.round(dy / ROW_H);
        this.changed();
      }
    };
    this.onUp = (e) => {
      const d = this.drag;
      if (!d) return;
      this.drag = null;
      c.classList.remove("dragging");
      if (d.shift && this.dragRange) {
        this.range = this.dragRange;
        this.dragRange = null;
        this.renderSide();
        this.saveUrl();
        this.draw();
      } else if (!d.moved) {
        this.click(d.x, d.y);
      }
      e.preventDefault();
    };
    window.addEventListener("mousemove", this.onMove);
    window.addEventListener("mouseup", this.onUp);
    c.addEventListener("mouseleave", () => hideTip());
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      const x = e.clientX - r.left;
      if (e.ctrlKey || e.altKey || e.metaKey) {
        this.zoom(Math.exp(e.deltaY * 0.002), Math.max(GUTTER, x));
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        const dx = e.shiftKey ? e.deltaY : e.deltaX;
        const dt = dx * (this.t1 - this.t0) / this.plotW;
        this.t0 += dt; this.t1 += dt;
        this.changed();
      } else {
        this.row += Math.sign(e.deltaY) * Math.max(1, Math.round(Math.abs(e.deltaY) / ROW_H));
        this.changed();
      }
    }, { passive: false });
    this.onKey = (e) => {
      if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) return;
      const span = this.t1 - this.t0;
      const cx = this.mouse && this.mouse.x > GUTTER ? this.mouse.x : GUTTER + this.plotW / 2;
      switch (e.key.toLowerCase()) {
        case "w": this.zoom(0.8, cx); break;
        case "s": this.zoom(1.25, cx); break;
        case "a": this.t0 -= span * 0.1; this.t1 -= span * 0.1; this.changed(); break;
        case "d": this.t0 += span * 0.1; this.t1 += span * 0.1; this.changed(); break;
        case "arrowdown": this.row += 1; this.changed(); break;
        case "arrowup": this.row -= 1; this.changed(); break;
        case "pagedown": this.row += this.visibleRows - 2; this.changed(); break;
        case "pageup": this.row -= this.visibleRows - 2; this.changed(); break;
        case "f": this.fit(); break;
        case "escape": this.sel = null; this.range = null; this.detail = null; this.renderSide(); this.saveUrl(); this.draw(); break;
        default: return;
      }
      e.preventDefault();
    };
    window.addEventListener("keydown", this.onKey);
  }

  zoom(factor, cx) {
    const t = this.tAt(cx);
    let span = (this.t1 - this.t0) * factor;
    span = Math.max(1000, Math.min(span, this.end * 4));
    const f = (t - this.t0) / (this.t1 - this.t0);
    this.t0 = t - f * span;
    this.t1 = this.t0 + span;
    this.changed();
  }

  pick(x, y) {
    const track = this.trackAt(y);
    if (track < 0 || x < GUTTER) return null;
    const spans = this.spansOf(track);
    if (!spans) return null;
    const t = this.tAt(x), slop = 3 * (this.t1 - this.t0) / this.plotW;
    let best = null;
    for (const s of spans) {
      if (s[0] - slop <= t && t <= s[1] + slop) {
        const inside = s[0] <= t && t <= s[1];
        if (!best || inside) best = s;
        if (inside) break;
      }
    }
    return best ? { track, span: best, t: Math.min(Math.max(t, best[0]), best[1]), slop } : null;
  }

  hover(x, y, e) {
    if (this.counters && x > GUTTER && y >= this.countersTop && y < this.countersTop + COUNTERS * COUNTER_H) {
      const t = this.tAt(x), c = this.counters.series;
      showTip(e.clientX, e.clientY, y < this.countersTop + COUNTER_H
        ? `${fmtTime(t)}: ${valueAt(c.running, t)} running, ${valueAt(c.runnable, t)} runnable goroutines`
        : `${fmtTime(t)}: heap ${fmtBytes(valueAt(c.heap, t))}`);
      return;
    }
    const p = this.pick(x, y);
    if (!p) { hideTip(); return; }
    const s = p.span;
    const label = (this.labels.get(p.track) || {}).label || "";
    const what = s[5] > 1 ? `${fmtInt(s[5])} spans merged (mostly ${KINDS[s[2]].name})` : this.spanText(p.track, s) || KINDS[s[2]].name;
    showTip(e.clientX, e.clientY, `<b>${esc(label)}</b><br>${esc(what)}<br>${fmtTime(s[0])} – ${fmtTime(s[1])} (${fmtDur(s[1] - s[0])})`);
  }

  click(x, y) {
    const p = this.pick(x, y);
    if (!p) { this.sel = null; this.detail = null; this.renderSide(); this.saveUrl(); this.draw(); return; }
    this.loadDetail(p.track, Math.round(p.t), Math.round(p.slop));
  }

  async loadDetail(track, ts, slop) {
    try {
      const d = await api(`/api/span?lens=${this.lens}&track=${track}&ts=${ts}&slop=${slop}`);
      this.detail = d.found ? d : null;
      this.sel = d.found ? { track, ts: d.start_ns === d.end_ns ? d.start_ns : Math.max(ts, d.start_ns) } : null;
    } catch (e) {
      this.detail = null;
      this.error = String(e);
    }
    this.renderSide();
    this.saveUrl();
    this.draw();
  }

  // ---- side panel ----
  renderSide() {
    const parts = [];
    const d = this.detail;
    if (d) {
      const gl = (g) => g && g.g ? h("a", { href: "#", class: "glink", onclick: (e) => { e.preventDefault(); this.gotoGoroutine(g); } },
        `G${g.g}${g.name ? " " + g.name : ""}`) : "–";
      parts.push(h("h3", {}, d.track_label));
      parts.push(h("dl", { id: "span-detail" },
        h("dt", {}, "State"), h("dd", { id: "d-kind" }, d.kind),
        h("dt", {}, "Event"), h("dd", { id: "d-event" }, d.event),
        h("dt", {}, "Start"), h("dd", {}, fmtTime(d.start_ns)),
        h("dt", {}, "Duration"), h("dd", {}, fmtDur(d.duration_ns)),
        d.goroutine ? [h("dt", {}, "Goroutine"), h("dd", { id: "d-goroutine" }, gl(d.goroutine))] : null,
        d.p !== undefined ? [h("dt", {}, "P"), h("dd", {}, String(d.p))] : null,
        d.thread !== undefined ? [h("dt", {}, "Thread"), h("dd", {}, String(d.thread))] : null,
        d.woken_by ? [h("dt", {}, "Made runnable by"), h("dd", {}, gl(d.woken_by))] : null,
        d.stw_kind !== undefined ? [h("dt", {}, "STW kind"), h("dd", {}, String(d.stw_kind))] : null));
      parts.push(h("h3", {}, `Stack of ${d.event}`));
      parts.push(d.stack.length ? h("ul", { class: "stack", id: "d-stack" }, d.stack.map((f) => h("li", {},
        h("div", { class: "fn mono" }, f.fn || f.pc), h("div", { class: "loc mono" }, `${f.file}:${f.line}`))))
        : h("p", { class: "muted", id: "d-stack" }, "no stack"));
    } else {
      parts.push(h("p", { class: "muted" }, "Click a span for its event, stack and goroutines. Shift+drag selects a time range."));
    }
    if (this.range) parts.push(this.rangeSummary());
    if (this.hits) {
      parts.push(h("h3", {}, `Search: ${this.hits.length} goroutine${this.hits.length === 1 ? "" : "s"}`));
      parts.push(h("ul", { class: "hits" }, this.hits.map((g) => h("li", {},
        h("a", { href: "#", onclick: (e) => { e.preventDefault(); this.gotoGoroutine(g); } }, `G${g.g}`), " ", h("span", { class: "mono" }, g.name)))));
    }
    parts.push(h("h3", { style: { marginTop: "14px" } }, "Legend"));
    parts.push(h("div", { class: "legend" }, KINDS.slice(1).map((k) => h("span", {}, h("i", { style: { background: k.color } }), k.name))));
    this.side.replaceChildren(...parts);
  }

  rangeSummary() {
    const { r0, r1 } = this.range;
    const totals = new Array(KINDS.length).fill(0);
    const first = LANES + this.row, last = Math.min(this.total, first + this.visibleRows);
    for (let t = first; t < last; t++) {
      for (const s of this.spansOf(t) || []) {
        const a = Math.max(r0, s[0]), b = Math.min(r1, s[1]);
        if (b > a) totals[s[2]] += (b - a) * (s[5] > 1 ? s[6] / 15 : 1);
      }
    }
    return h("div", { id: "range-summary" },
      h("h3", {}, `Selection: ${fmtDur(r1 - r0)}`),
      h("p", { class: "muted" }, `${fmtTime(r0)} – ${fmtTime(r1)}; time per state over the ${last - first} rows on screen`),
      h("dl", {}, KINDS.map((k, i) => totals[i] > 0 ? [h("dt", {}, k.name), h("dd", {}, fmtDur(totals[i]))] : null)),
      h("button", { class: "btn", onclick: () => { this.t0 = r0; this.t1 = r1; this.changed(); } }, "Zoom to selection"));
  }

  async find(q) {
    if (!q) return;
    try {
      const r = await api(`/api/find?q=${encodeURIComponent(q)}`);
      this.hits = r.hits;
      if (r.hits.length) this.gotoGoroutine(r.hits[0]);
    } catch (e) {
      this.hits = [];
      this.error = String(e);
    }
    this.renderSide();
  }

  gotoGoroutine(g) {
    const go = () => { if (g.track >= 0) this.scrollToTrack(g.track, true); };
    if (this.lens !== "g") {
      this.lens = "g";
      for (const b of this.toolbar.querySelectorAll("[data-lens]")) b.classList.toggle("active", b.dataset.lens === "g");
      this.sel = null;
      this.gen++;
      api(`/api/tracks?lens=g&first=0&count=300`).then((info) => {
        this.total = info.total;
        this.labels.clear();
        for (const t of info.tracks) this.labels.set(t.i, t);
        this.cache = null; this.laneCache = null;
        go();
      });
    } else {
      go();
    }
  }

  scrollToTrack(track, redraw) {
    this.row = Math.max(0, track - LANES - 3);
    this.highlightRow = track;
    if (redraw) this.changed();
  }

  // ---- URL ----
  saveUrlSoon() {
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => this.saveUrl(), 250);
  }
  saveUrl() {
    const p = { lens: this.lens, t0: Math.round(this.t0), t1: Math.round(this.t1), row: this.row };
    if (this.sel) p.sel = `${this.sel.track}:${Math.round(this.sel.ts)}`;
    if (this.range) { p.r0 = Math.round(this.range.r0); p.r1 = Math.round(this.range.r1); }
    if (!this.arrows) p.arrows = "0";
    history.replaceState(null, "", routeUrl("timeline", p));
  }
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function clip(ctx, text, w) {
  if (ctx.measureText(text).width <= w) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "…").width <= w) lo = mid; else hi = mid - 1;
  }
  return lo > 0 ? text.slice(0, lo) + "…" : "";
}

// valueAt(flat [ts, lo, hi, ...], t): the max of the column at or before t (0 before the first).
function valueAt(a, t) {
  let lo = 0, hi = a.length / 3 - 1, v = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid * 3] <= t) { v = a[mid * 3 + 2]; lo = mid + 1; } else hi = mid - 1;
  }
  return v;
}

function fmtBytes(b) {
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(1)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}
