// An icicle flame graph on canvas: root on top, callees below, width = delay. Click a frame to
// zoom into it, click the root (or a frame above the focus) to zoom out; hover for details.
import { fmtDur, fmtInt, esc, showTip, hideTip } from "./util.js";

const ROW = 20;

export class FlameGraph {
  // tree: [fn, file, line, value, count, children[]] (server: /api/profile)
  constructor(canvas, tree, onFocus) {
    this.canvas = canvas;
    this.tree = tree;
    this.focus = tree;
    this.path = [tree];  // root → focus
    this.onFocus = onFocus;
    this.depth = maxDepth(tree);
    canvas.style.height = `${(this.depth + 1) * ROW + 4}px`;
    canvas.addEventListener("mousemove", (e) => this.hover(e));
    canvas.addEventListener("mouseleave", () => hideTip());
    canvas.addEventListener("click", (e) => this.click(e));
    this.obs = new ResizeObserver(() => this.paint());
    this.obs.observe(canvas);
  }

  destroy() { this.obs.disconnect(); hideTip(); }

  layout() {
    const boxes = [];
    const W = this.w;
    let x = 0;
    // Ancestors of the focus span the full width.
    this.path.forEach((n, d) => boxes.push({ n, x: 0, w: W, d, anc: n !== this.focus }));
    const walk = (n, x0, w, d) => {
      let cx = x0;
      for (const c of n[5]) {
        const cw = w * c[3] / Math.max(1, n[3]);
        if (cw >= 0.5) {
          boxes.push({ n: c, x: cx, w: cw, d });
          walk(c, cx, cw, d + 1);
        }
        cx += cw;
      }
    };
    walk(this.focus, x, W, this.path.length);
    return boxes;
  }

  paint() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    this.w = c.clientWidth;
    const H = (this.depth + 1) * ROW + 4;
    c.width = Math.round(this.w * dpr);
    c.height = Math.round(H * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, H);
    ctx.font = "11.5px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    this.boxes = this.layout();
    for (const b of this.boxes) {
      const y = b.d * ROW;
      ctx.fillStyle = b.d === 0 ? "#9ca3af" : b.anc ? "#d1d5db" : color(b.n[0]);
      ctx.fillRect(b.x + 0.5, y + 0.5, Math.max(0.5, b.w - 1), ROW - 1);
      if (b.w > 30) {
        ctx.fillStyle = "#111827";
        const label = b.d === 0 ? `all (${fmtDur(b.n[3])})` : b.n[0];
        ctx.fillText(fit(ctx, label, b.w - 8), b.x + 4, y + ROW / 2 + 0.5);
      }
    }
    c.dataset.painted = String((Number(c.dataset.painted) || 0) + 1);
  }

  at(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const d = Math.floor(y / ROW);
    return (this.boxes || []).find((b) => b.d === d && b.x <= x && x < b.x + b.w);
  }

  hover(e) {
    const b = this.at(e);
    if (!b) { hideTip(); return; }
    const n = b.n, total = this.tree[3];
    showTip(e.clientX, e.clientY, `<b>${esc(n[0])}</b><br>${esc(n[1])}${n[2] ? ":" + n[2] : ""}<br>` +
      `${fmtDur(n[3])} (${(100 * n[3] / Math.max(1, total)).toFixed(1)}%), ${fmtInt(n[4])} events`);
  }

  click(e) {
    const b = this.at(e);
    if (!b) return;
    if (b.anc || b.d === 0) {
      this.path = this.path.slice(0, b.d + 1);
    } else {
      // Path from the focus down to the clicked node.
      const find = (n, target, acc) => {
        if (n === target) return acc;
        for (const c of n[5]) { const r = find(c, target, [...acc, c]); if (r) return r; }
        return null;
      };
      this.path = this.path.concat(find(this.focus, b.n, []) || []);
    }
    this.focus = this.path[this.path.length - 1];
    this.paint();
    if (this.onFocus) this.onFocus(this.focus);
  }
}

function maxDepth(n) {
  let d = 0;
  for (const c of n[5]) d = Math.max(d, 1 + maxDepth(c));
  return d;
}

function color(name) {
  let hsh = 0;
  for (let i = 0; i < name.length; i++) hsh = (hsh * 31 + name.charCodeAt(i)) | 0;
  const runtime = name.startsWith("runtime.") || name.startsWith("internal/") || name.startsWith("sync.");
  const hue = runtime ? 200 + (Math.abs(hsh) % 30) : 18 + (Math.abs(hsh) % 32);
  const light = 62 + (Math.abs(hsh >> 5) % 14);
  return `hsl(${hue}, ${runtime ? 55 : 85}%, ${light}%)`;
}

function fit(ctx, text, w) {
  if (ctx.measureText(text).width <= w) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "…").width <= w) lo = mid; else hi = mid - 1;
  }
  return lo > 1 ? text.slice(0, lo) + "…" : "";
}
