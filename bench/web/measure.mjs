// Measures a running `tracetool -http` server: first timeline paint in headless Chromium, and the
// server time (Server-Timing header) of pan/zoom requests at every zoom level, as the UI asks them.
//
//   node bench/web/measure.mjs URL DURATION_NS GOROUTINES
// Prints one JSON object.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const require = createRequire(path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../tests/web/x.js"));
const { chromium } = require("playwright-core");
const [url, durS, gorS] = process.argv.slice(2);
const dur = Number(durS), gors = Number(gorS);

// Pan/zoom: the requests the timeline makes (2 screens wide at 1190 px, 80 rows) for windows
// from the whole trace down to 10 µs, at several positions, in both the P and the G lens.
const samples = [];
const W = 1190;
for (const lens of ["p", "g", "m"]) {
  for (let span = dur; span >= 10000; span /= 10) {
    for (const pos of [0.1, 0.5, 0.9]) {
      const c = dur * pos, t0 = Math.max(0, Math.round(c - span)), t1 = Math.round(c + span);
      const firsts = lens === "g" ? [0, Math.floor(gors / 2)] : [0];
      for (const first of firsts) {
        const q = `lens=${lens}&first=${first}&count=80&t0=${t0}&t1=${t1}&width=${2 * W}`;
        const t = performance.now();
        const res = await fetch(`${url}api/spans?${q}`, { headers: { "Accept-Encoding": "gzip" } });
        const body = await res.arrayBuffer();
        const wall = performance.now() - t;
        const server = Number(/dur=([\d.]+)/.exec(res.headers.get("server-timing") || "")?.[1]);
        samples.push({ lens, span, first, server_ms: server, wall_ms: wall, bytes: body.byteLength });
      }
    }
  }
}
const sorted = samples.map((s) => s.server_ms).sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const worst = samples.reduce((a, b) => (b.server_ms > a.server_ms ? b : a));

// First paint: from navigation to the timeline canvas drawn with server data.
const dir = mkdtempSync(path.join(tmpdir(), "tt-bench-"));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: "/usr/bin/chromium", headless: true, viewport: { width: 1400, height: 860 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const paints = [];
for (const lens of ["p", "g"]) {
  const page = await ctx.newPage();
  const t = performance.now();
  await page.goto(`${url}#/timeline?lens=${lens}`);
  await page.waitForFunction(() => document.getElementById("tl-canvas")?.dataset.ready === "1", null, { timeout: 60000 });
  paints.push({ lens, first_paint_ms: performance.now() - t });
  await page.close();
}
await ctx.close();
rmSync(dir, { recursive: true, force: true });

console.log(JSON.stringify({
  requests: samples.length,
  server_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted[sorted.length - 1] },
  worst,
  max_bytes: Math.max(...samples.map((s) => s.bytes)),
  first_paint: paints,
}, null, 1));
