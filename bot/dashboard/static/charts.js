/* Small SVG charts drawn by the dashboard itself (no library): grouped bars over time, horizontal bars. */
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#3b6fd4", "#2f9e6b", "#d9822b", "#b54aa8", "#7a7a7a", "#c23b3b", "#1b9aaa", "#8c6d1f"];

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * magnitude).find((top) => top >= value);
}

/* Grouped bars: `labels` along x, one bar per series per label, a legend on top. */
function barChart(container, labels, series) {
  container.replaceChildren();
  const width = 900, height = 300, left = 48, right = 12, top = 34, bottom = 48;
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img"});
  const top_value = niceMax(Math.max(1, ...series.flatMap((s) => s.values)));
  const plotW = width - left - right, plotH = height - top - bottom;
  for (let i = 0; i <= 5; i++) {
    const value = (top_value * i) / 5, y = top + plotH - (plotH * i) / 5;
    chart.append(svg("line", {x1: left, x2: width - right, y1: y, y2: y, class: "gridline"}));
    chart.append(svg("text", {x: left - 6, y: y + 4, "text-anchor": "end", class: "axis"}, VB.number(value)));
  }
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, Math.min(28, (slot * 0.8) / series.length));
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    const x0 = left + i * slot + (slot - barW * series.length) / 2;
    series.forEach((s, k) => {
      const h = (plotH * s.values[i]) / top_value;
      const bar = svg("rect", {x: x0 + k * barW, y: top + plotH - h, width: barW - 1, height: h, fill: PALETTE[k]});
      bar.append(svg("title", {}, `${label} · ${s.name}: ${s.values[i]}`));
      chart.append(bar);
    });
    if (i % every === 0) {
      chart.append(svg("text", {x: left + i * slot + slot / 2, y: height - bottom + 18, "text-anchor": "middle", class: "axis"}, label));
    }
  });
  let lx = left;
  series.forEach((s, k) => {
    chart.append(svg("rect", {x: lx, y: 8, width: 14, height: 14, fill: PALETTE[k]}));
    chart.append(svg("text", {x: lx + 20, y: 20, class: "legend"}, s.name));
    lx += 30 + s.name.length * 9;
  });
  container.append(chart);
}

/* Horizontal bars for a distribution: {name: count}. */
function distributionChart(container, counts) {
  container.replaceChildren();
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (!entries.length) {
    container.append(VB.t("common.none"));
    return;
  }
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const rowH = 28, width = 560, labelW = 190, height = entries.length * rowH + 8;
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart small", role: "img"});
  const most = entries[0][1];
  entries.forEach(([name, n], i) => {
    const y = 4 + i * rowH, w = ((width - labelW - 90) * n) / most;
    chart.append(svg("text", {x: labelW - 8, y: y + 18, "text-anchor": "end", class: "legend"}, name));
    chart.append(svg("rect", {x: labelW, y: y + 4, width: Math.max(1, w), height: rowH - 10, fill: PALETTE[i % PALETTE.length]}));
    chart.append(svg("text", {x: labelW + w + 6, y: y + 18, class: "legend"}, `${n} (${Math.round((100 * n) / total)} %)`));
  });
  container.append(chart);
}

window.VBCharts = {barChart, distributionChart};
