// Small SVG charts for the dashboard: bars over time, a line over time, and horizontal
// bars for shares. No library: a few hundred points at most, drawn with plain SVG so the
// page stays CSP-strict, prints, and scales to any screen. Each chart carries a text
// summary (aria-label) and its values as data attributes.

const NS = "http://www.w3.org/2000/svg";
// Drawn at the container's own width (the page redraws on resize), so text is never
// stretched, on a phone or a wall screen.
let W = 640;
const H = 220, PAD = { top: 12, right: 12, bottom: 28, left: 64 };
const MAX_BAR = 56;

function el(name, attributes = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * step) return m * step;
  return 10 * step;
}

function frame(container, label, max, format) {
  W = Math.max(280, Math.round(container.clientWidth || 640));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": label });
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + ((H - PAD.top - PAD.bottom) * i) / 4;
    svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
    svg.appendChild(el("text", { x: PAD.left - 6, y: y + 4, class: "tick", "text-anchor": "end" },
      format(max - (max * i) / 4)));
  }
  container.replaceChildren(svg);
  return svg;
}

function timeLabels(svg, points, x) {
  const every = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    if (i % every === 0 || i === points.length - 1) {
      svg.appendChild(el("text", { x: x(i), y: H - 8, class: "tick", "text-anchor": "middle" }, p.label));
    }
  });
}

function empty(container, text) {
  const note = document.createElement("p");
  note.className = "chart-empty";
  note.textContent = text;
  container.replaceChildren(note);
}

// points: [{ label, value, title }]
export function bars(container, points, { label, format = String, tick = format, emptyText = "Nothing yet." }) {
  const total = points.reduce((sum, p) => sum + p.value, 0);
  container.dataset.total = String(total);
  container.dataset.points = String(points.length);
  if (!points.length) return empty(container, emptyText);
  const highest = Math.max(...points.map((p) => p.value));
  // Counts get whole-number ticks: the axis top is a multiple of its four steps.
  const max = points.every((p) => Number.isInteger(p.value)) ? Math.ceil(niceMax(highest) / 4) * 4 : niceMax(highest);
  const svg = frame(container, `${label}: ${points.length} intervals, ${format(total)} in all`, max, tick);
  const inner = W - PAD.left - PAD.right, height = H - PAD.top - PAD.bottom;
  const slot = inner / points.length;
  const x = (i) => PAD.left + slot * i + slot / 2;
  points.forEach((p, i) => {
    const h = (p.value / max) * height;
    const width = Math.min(MAX_BAR, Math.max(2, slot * 0.7));
    const bar = el("rect", { x: x(i) - width / 2, y: PAD.top + height - h,
      width, height: Math.max(0, h), class: "bar", "data-value": p.value });
    bar.appendChild(el("title", {}, `${p.title || p.label}: ${format(p.value)}`));
    svg.appendChild(bar);
  });
  timeLabels(svg, points, x);
}

export function line(container, points, { label, format = String, tick = format, emptyText = "Nothing yet." }) {
  const last = points.length ? points[points.length - 1].value : 0;
  container.dataset.total = String(last);
  container.dataset.points = String(points.length);
  if (!points.length) return empty(container, emptyText);
  const max = niceMax(Math.max(...points.map((p) => p.value)));
  const svg = frame(container, `${label}: ${format(last)} so far`, max, tick);
  const inner = W - PAD.left - PAD.right, height = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length === 1 ? inner / 2 : (inner * i) / (points.length - 1));
  const y = (v) => PAD.top + height - (v / max) * height;
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  svg.appendChild(el("path", { d: `${path} L${x(points.length - 1)},${PAD.top + height} L${x(0)},${PAD.top + height} Z`, class: "area" }));
  svg.appendChild(el("path", { d: path, class: "line" }));
  points.forEach((p, i) => {
    const dot = el("circle", { cx: x(i), cy: y(p.value), r: 3.5, class: "dot" });
    dot.appendChild(el("title", {}, `${p.title || p.label}: ${format(p.value)}`));
    svg.appendChild(dot);
  });
  timeLabels(svg, points, x);
}

// rows: [{ label, value (0..1), detail }]
export function shares(container, rows, { emptyText = "No ticket types." } = {}) {
  container.replaceChildren();
  if (!rows.length) return empty(container, emptyText);
  const list = document.createElement("ul");
  list.className = "shares";
  for (const row of rows) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "share-name";
    name.textContent = row.label;
    const meter = document.createElement("meter");
    meter.min = 0; meter.max = 1; meter.value = Math.min(1, row.value);
    meter.setAttribute("aria-label", `${row.label}: ${Math.round(row.value * 100)}% sold`);
    const detail = document.createElement("span");
    detail.className = "share-detail";
    detail.textContent = `${Math.round(row.value * 100)}% · ${row.detail}`;
    item.dataset.value = String(row.value);
    item.append(name, meter, detail);
    list.appendChild(item);
  }
  container.appendChild(list);
}
