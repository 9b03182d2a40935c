// Hand-drawn SVG charts of the dashboard: no library, nothing fetched from elsewhere.
const NS = "http://www.w3.org/2000/svg";
const W = 600;
const H = 150;
const PAD = { left: 40, right: 8, top: 10, bottom: 22 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) if (child) node.append(child);
  return node;
}

function text(x, y, value, anchor = "end") {
  const node = svg("text", { x, y, "text-anchor": anchor, class: "axis" });
  node.textContent = value;
  return node;
}

// A chart's frame: the SVG, its accessible name, a y axis from 0 to `max` with `unit`,
// and the x axis of `n` minutes ending now.
function frame(label, n, max, unit) {
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart" });
  const title = svg("title");
  title.textContent = label;
  chart.append(title);
  const bottom = H - PAD.bottom;
  chart.append(
    svg("line", { x1: PAD.left, x2: W - PAD.right, y1: bottom, y2: bottom, class: "grid" }),
    svg("line", { x1: PAD.left, x2: W - PAD.right, y1: PAD.top, y2: PAD.top, class: "grid" }),
    text(PAD.left - 4, PAD.top + 4, `${max}${unit}`), text(PAD.left - 4, bottom, `0${unit}`),
    text(PAD.left, H - 6, `−${n} min`, "start"), text(W - PAD.right, H - 6, "now"));
  chart.setAttribute("aria-label", label);
  return chart;
}

const xOf = (i, n) => PAD.left + (i * (W - PAD.left - PAD.right)) / n;
const yOf = (value, max) => H - PAD.bottom - (value / max) * (H - PAD.top - PAD.bottom);

// Completed (below) and failed (on top) jobs per minute, stacked bars.
export function throughputChart(completed, failed) {
  const n = completed.length;
  const totals = completed.map((c, i) => c + failed[i]);
  const max = Math.max(1, ...totals);
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const chart = frame(`Jobs finished per minute, last ${n} minutes: ${sum(completed)} completed, ${sum(failed)} failed`, n, max, "");
  const width = Math.max(1, (W - PAD.left - PAD.right) / n - 1);
  completed.forEach((done, i) => {
    const x = xOf(i, n);
    if (done) chart.append(svg("rect", { x, width, y: yOf(done, max), height: yOf(0, max) - yOf(done, max),
      class: "bar-done", "data-minute": i, "data-count": done }));
    if (failed[i]) chart.append(svg("rect", { x, width, y: yOf(totals[i], max),
      height: yOf(done, max) - yOf(totals[i], max), class: "bar-failed", "data-minute": i, "data-count": failed[i] }));
  });
  return chart;
}

// Failed / finished per minute, in %, a line broken where nothing finished.
export function failureRateChart(completed, failed) {
  const n = completed.length;
  const chart = frame(`Failure rate per minute, last ${n} minutes`, n, 100, "%");
  let path = "";
  let pen = "M";
  completed.forEach((done, i) => {
    const total = done + failed[i];
    if (!total) { pen = "M"; return; }
    const rate = (100 * failed[i]) / total;
    const x = xOf(i + 0.5, n);
    path += `${pen}${x.toFixed(1)},${yOf(rate, 100).toFixed(1)} `;
    pen = "L";
    chart.append(svg("circle", { cx: x, cy: yOf(rate, 100), r: 2.5, class: "rate-point",
      "data-minute": i, "data-rate": rate.toFixed(1) }));
  });
  if (path) chart.querySelector("title").after(svg("path", { d: path.trim(), class: "rate-line" }));
  return chart;
}
