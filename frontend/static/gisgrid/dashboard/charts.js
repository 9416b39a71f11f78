/* The dashboard's ECharts (vendored, window.echarts): one function per chart, taking the stats
 * API's rows. Chinese first, with a font stack that has CJK glyphs on a bare Debian
 * ("WenQuanYi Micro Hei", Noto); English with ECharts' own EN locale (langEN.js).
 */
import { formatPercent } from "../core/format.js";

export const FONT = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif';
const STATE_COLOURS = { reported: "#5470c6", accepted: "#73c0de", dispatched: "#3ba272", acknowledged: "#91cc75",
                        on_site: "#fac858", completed: "#ee6666", verified: "#9a60b4", archived: "#7f7f7f",
                        voided: "#c0c0c0" };

export function createChart(node) {
  const en = String(document.documentElement.lang || "").startsWith("en");
  const chart = window.echarts.init(node, null, { renderer: "canvas", locale: en ? "EN" : "ZH" });
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

function base() {
  return { textStyle: { fontFamily: FONT }, grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
           tooltip: { trigger: "axis" }, animation: false };
}

export function stateOption(rows, T) {
  return Object.assign(base(), {
    xAxis: { type: "category", data: rows.map((r) => r.name), axisLabel: { interval: 0, rotate: 30 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name: T.count, data: rows.map((r) => ({ value: r.count,
      itemStyle: { color: STATE_COLOURS[r.state] } })) }],
  });
}

export function categoryOption(rows, T, top = 12) {
  const shown = rows.slice(0, top).reverse();
  return Object.assign(base(), {
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: shown.map((r) => r.name) },
    series: [{ type: "bar", name: T.count, data: shown.map((r) => r.count), itemStyle: { color: "#5470c6" } }],
  });
}

export function townOption(rows, T, names) {
  return Object.assign(base(), {
    xAxis: { type: "category", data: rows.map((r) => r.name || names[r.code] || r.code || T.noGrid),
             axisLabel: { interval: 0, rotate: 40 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name: T.count, data: rows.map((r) => r.count), itemStyle: { color: "#3ba272" } }],
  });
}

export function onTimeOption(rows, T) {
  return Object.assign(base(), {
    tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" && v <= 1 ? formatPercent(v) : v) },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: rows.map((r) => r.period) },
    yAxis: [{ type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => formatPercent(v) } },
            { type: "value", minInterval: 1 }],
    series: [
      { type: "line", name: T.rate, data: rows.map((r) => r.rate), yAxisIndex: 0, connectNulls: true },
      { type: "bar", name: T.completed, data: rows.map((r) => r.completed), yAxisIndex: 1,
        itemStyle: { color: "rgba(84,112,198,.35)" } },
    ],
  });
}
