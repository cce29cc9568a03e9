// The live page served at / by the monitor: current values and charts drawn as inline SVG
// from /live.json, polled every second. No external resources (no CDN, no fonts): the
// whole page is this string.
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>runtime-sampler</title>
<style>
  :root { --bg: #fafafa; --fg: #1d1d1f; --muted: #6e6e73; --card: #fff; --line: #e3e3e6; --bad: #c62828; --ok: #2e7d32; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
  header h1 { font-size: 18px; margin: 0; }
  #status { font-weight: 600; }
  #status.ready { color: var(--ok); } #status.notready { color: var(--bad); }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  .tiles { grid-column: 1 / -1; display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); }
  .tile, .chart { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  .tile .label { color: var(--muted); font-size: 12px; }
  .tile .value { font-size: 22px; font-variant-numeric: tabular-nums; }
  .chart h2 { font-size: 13px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
  svg { width: 100%; height: 180px; display: block; }
  .legend { font-size: 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 10px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
</style>
</head>
<body>
<header><h1>runtime-sampler</h1><span id="status">connecting…</span><span id="meta" class="legend"></span></header>
<main>
  <section class="tiles" id="tiles"></section>
  <section class="chart"><h2>Heap used by space (MB)</h2><svg id="heap" viewBox="0 0 600 180"></svg><div class="legend" id="heap-legend"></div></section>
  <section class="chart"><h2>Loop delay over the window (ms)</h2><svg id="delay" viewBox="0 0 600 180"></svg><div class="legend" id="delay-legend"></div></section>
  <section class="chart"><h2>Event-loop utilization and GC CPU fraction</h2><svg id="elu" viewBox="0 0 600 180"></svg><div class="legend" id="elu-legend"></div></section>
  <section class="chart"><h2>GC pauses by type (count per pause-time bucket, ms)</h2><svg id="gc" viewBox="0 0 600 180"></svg><div class="legend" id="gc-legend"></div></section>
  <section class="chart" id="threadpool-chart" hidden><h2>Threadpool probe delay over the window, and the probe waiting now (ms)</h2><svg id="threadpool" viewBox="0 0 600 180"></svg><div class="legend" id="threadpool-legend"></div></section>
</main>
<script>
"use strict";
const COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#9e9d24", "#ad1457", "#37474f"];
const history = [];
const KEEP = 180;
const $ = (id) => document.getElementById(id);
const fmt = (v, d = 1) => v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d);
const mb = (b) => b / 1048576;
function el(name, attrs) { const e = document.createElementNS("http://www.w3.org/2000/svg", name); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }
function legend(id, names) { $(id).innerHTML = names.map((n, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + n + "</span>").join(""); }
function lines(svgId, series, names, fixedMax) {
  const svg = $(svgId); svg.textContent = "";
  let max = fixedMax || 0;
  if (!fixedMax) for (const s of series) for (const v of s) if (v !== null && v > max) max = v;
  if (!(max > 0)) max = 1;
  for (let f = 0; f <= 1; f += 0.25) {
    const y = 175 - f * 165;
    svg.appendChild(el("line", { x1: 0, x2: 600, y1: y, y2: y, stroke: "#eee" }));
    const t = el("text", { x: 2, y: y - 2, "font-size": 10, fill: "#999" }); t.textContent = fmt(max * f, max * f < 10 ? 2 : 0); svg.appendChild(t);
  }
  series.forEach((s, i) => {
    const pts = [];
    // The newest point at the right; the x scale fills as the history grows (at least 30 s).
    const span = Math.max(29, s.length - 1);
    s.forEach((v, j) => { if (v !== null && !Number.isNaN(v)) pts.push((600 - (s.length - 1 - j) * 600 / span).toFixed(1) + "," + (175 - (v / max) * 165).toFixed(1)); });
    if (pts.length) svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
  });
  legend(svgId + "-legend", names);
}
// Pause buckets: powers of two from 1/16 ms to 1 s (shorter and longer pauses join the ends).
const BOUNDS = Array.from({ length: 15 }, (_, i) => 2 ** (i - 4));
function bars(svgId, hist) {
  const svg = $(svgId); svg.textContent = "";
  const types = Object.keys(hist);
  const counts = types.map((t) => {
    const row = new Array(BOUNDS.length).fill(0);
    for (const [le, c] of hist[t]) row[Math.max(0, Math.min(BOUNDS.length - 1, Math.round(Math.log2(le)) + 4))] += c;
    return row;
  });
  let max = 1;
  for (const row of counts) for (const c of row) if (c > max) max = c;
  const w = 600 / BOUNDS.length;
  const bw = Math.max(1, (w - 4) / Math.max(1, types.length));
  counts.forEach((row, ti) => row.forEach((c, i) => {
    if (c === 0) return;
    const h = Math.max(2, (Math.log1p(c) / Math.log1p(max)) * 150);
    const r = el("rect", { x: i * w + 2 + ti * bw, y: 160 - h, width: bw, height: h, fill: COLORS[ti % COLORS.length] });
    const tip = el("title", {}); tip.textContent = types[ti] + ": " + c + " pauses ≤ " + BOUNDS[i] + " ms"; r.appendChild(tip);
    svg.appendChild(r);
  }));
  BOUNDS.forEach((b, i) => {
    if (i % 2) return;
    const tx = el("text", { x: i * w + 2, y: 176, "font-size": 10, fill: "#999" }); tx.textContent = b < 1 ? "1/" + (1 / b) : String(b); svg.appendChild(tx);
  });
  legend(svgId + "-legend", types);
}
function tiles(d) {
  const list = [
    ["Ready", d.ready.ready ? "yes" : "no: " + d.ready.failing.join(", ")],
    ["Event-loop utilization", fmt(d.elu * 100, 1) + " %"],
    ["Loop delay p99", fmt(d.loopDelayMs.p99, 1) + " ms"],
    ["Heap used / limit", fmt(mb(d.heap.usedBytes), 0) + " / " + fmt(mb(d.heap.limitBytes), 0) + " MB"],
    ["RSS", fmt(mb(d.rssBytes), 0) + " MB"],
    ["GC collections", String(d.gc.count)],
    ["GC CPU fraction", fmt(d.gcCpuFraction * 100, 2) + " %"],
    ["Incremental marking steps", String(d.gc.incrementalMarkingSteps)],
    ["Stall", d.stall.active ? "in progress " + fmt(d.stall.durationMs, 0) + " ms" : String(d.stall.count) + " so far"],
    ["Alerts", d.alerts && d.alerts.length ? d.alerts.map((a) => a.severity + " " + a.name).join(", ") : "none"],
  ];
  const c = d.container;
  if (c) {
    // Only what the cgroup says: no limit is "none", a value it does not give is "–".
    const limit = (v, f) => v === "unlimited" ? "none" : v === null ? "–" : f(v);
    list.push(
      ["Container memory / limit", ((c.memoryWorkingSetBytes ?? c.memoryUsageBytes) === null ? "–" : fmt(mb(c.memoryWorkingSetBytes ?? c.memoryUsageBytes), 0)) + " / " + limit(c.memoryLimitBytes, (v) => fmt(mb(v), 0)) + " MB" + (c.memoryUsedShare === null ? "" : " (" + fmt(c.memoryUsedShare * 100, 0) + " %)")],
      ["Container CPU quota", limit(c.cpuQuotaCores, (v) => fmt(v, 2) + " CPUs")],
      ["CPU throttled", c.throttledShare === null ? "–" : fmt(c.throttledShare * 100, 1) + " % of periods"],
    );
  }
  const t = d.threadpool;
  if (t) {
    list.push(
      ["Threadpool delay p99", fmt(t.delayMs.p99, 2) + " ms"],
      ["Threadpool", t.inFlight ? "probe waiting " + fmt(t.waitingMs, 0) + " ms" : t.size + " threads"],
    );
  }
  $("tiles").innerHTML = list.map(([k, v]) => '<div class="tile"><div class="label">' + k + '</div><div class="value" data-tile="' + k + '">' + v + "</div></div>").join("");
}
async function poll() {
  try {
    const res = await fetch("live.json", { cache: "no-store" });
    const d = await res.json();
    history.push(d);
    if (history.length > KEEP) history.shift();
    $("status").textContent = d.ready.ready ? "ready" : "not ready";
    $("status").className = d.ready.ready ? "ready" : "notready";
    $("meta").textContent = (d.processes ? d.processes + " processes, summed" : "thread " + d.threadId) + " · window " + fmt(d.windowMs / 1000, 0) + " s · " + new Date(d.time).toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    tiles(d);
    const spaces = Object.keys(d.heap.spaces);
    lines("heap", spaces.map((s) => history.map((h) => h.heap.spaces[s] === undefined ? null : mb(h.heap.spaces[s]))), spaces);
    lines("delay", ["p50", "p90", "p99"].map((p) => history.map((h) => h.loopDelayMs[p])), ["p50", "p90", "p99"]);
    lines("elu", [history.map((h) => h.elu), history.map((h) => h.gcCpuFraction)], ["utilization", "GC CPU fraction"], 1);
    bars("gc", d.gc.pauseHistogramMs);
    $("threadpool-chart").hidden = !d.threadpool;
    if (d.threadpool) {
      const tp = (f) => history.map((h) => h.threadpool ? f(h.threadpool) : null);
      lines("threadpool", [tp((x) => x.delayMs.p50), tp((x) => x.delayMs.p99), tp((x) => x.delayMs.max), tp((x) => x.waitingMs)], ["p50", "p99", "max", "waiting now"]);
    }
  } catch (e) {
    $("status").textContent = "disconnected";
    $("status").className = "notready";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
