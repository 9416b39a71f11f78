/* The assessment's bar charts (ECharts, vendored as a classic script: window.echarts). Every bar
 * carries its value as a label, so a score at the floor of 0 reads "0" instead of looking like a
 * missing bar.
 */
import { points } from "./tables.js";

// A font stack with CJK glyphs on a bare Debian as well as on the offices' Windows machines.
const FONT = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif';

function chartOn(node) {
  const known = window.echarts.getInstanceByDom(node);
  if (known) return known;
  const en = String(document.documentElement.lang || "").startsWith("en");
  const chart = window.echarts.init(node, null, { renderer: "canvas", locale: en ? "EN" : "ZH" });
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

/** The rows a score chart shows: the 15 lowest scores, lowest first. */
export function lowest(rows) {
  return rows.slice().sort((a, b) => a.score - b.score).slice(0, 15);
}

/**
 * A horizontal bar chart of `rows` into `node`, labelled by label(row), valued by value(row).
 * Scores (score: true) get an axis from 0 to 100, or to the highest score when bonuses take one
 * above 100; other charts (the bulletin's points per rule, which are negative) keep ECharts' own.
 */
export function barChart(node, rows, label, value, { score = false } = {}) {
  if (!node || !window.echarts) return null;
  const chart = chartOn(node);
  const xAxis = { type: "value" };
  if (score) Object.assign(xAxis, { min: 0, max: (extent) => Math.max(100, extent.max) });
  chart.setOption({
    textStyle: { fontFamily: FONT },
    animation: false,
    grid: { left: 120, right: 40, top: 10, bottom: 20 },
    xAxis,
    yAxis: { type: "category", data: rows.map(label), inverse: true },
    series: [{ type: "bar", data: rows.map(value), itemStyle: { color: "#3b82f6" },
               label: { show: true, position: "right", formatter: (p) => points(p.value) } }],
    tooltip: {},
  }, true);
  return chart;
}

/** The people and units score charts (#c-people, #c-units) of a ranking. */
export function scoreCharts(people, units) {
  barChart(document.getElementById("c-people"), lowest(people), (p) => p.name, (p) => p.score, { score: true });
  barChart(document.getElementById("c-units"), lowest(units), (u) => u.name, (u) => u.score, { score: true });
}
