/**
 * Lays a {@link Summary} out as a terminal table, JSON, Markdown, or one
 * self-contained HTML page with inline SVG charts (no script, no font, no
 * network: the file can be mailed or opened from a laptop offline).
 *
 * @module
 */
import type { HistogramBin, Percentiles, Summary, TimelinePoint } from "./summary.ts";

/** Output formats of `churnctl summary --format`. */
export const FORMATS = ["table", "json", "md", "html"] as const;
/** One of {@link FORMATS}. */
export type Format = typeof FORMATS[number];

/** Renders `summary` in `format`. */
export function render(summary: Summary, format: Format): string {
  switch (format) {
    case "table":
      return renderTable(summary);
    case "json":
      return JSON.stringify(summary, null, 2) + "\n";
    case "md":
      return renderMarkdown(summary);
    case "html":
      return renderHtml(summary);
  }
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function count(value: number | null): string {
  return value === null ? "—" : integer.format(value);
}

function percent(rate: number | null): string {
  return rate === null ? "—" : `${(rate * 100).toFixed(1)} %`;
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 1 ? `${value.toFixed(1)} ms` : `${value.toFixed(3)} ms`;
}

function latencyLine(value: Percentiles | null): string {
  return value === null
    ? "not available"
    : `p50 ${ms(value.p50)}, p95 ${ms(value.p95)}, p99 ${ms(value.p99)} (max ${ms(value.max)}, n=${
      count(value.count)
    })`;
}

function describeSource(summary: Summary): string {
  const source = summary.source;
  if (source.kind === "report") return `run report ${source.path}`;
  return `topics ${source.predictions} + ${source.deadletter}, from ${source.since ?? "the beginning"} to ${
    source.until ?? "now"
  }`;
}

function describeWindow(summary: Summary): string {
  const { first, last, seconds } = summary.window;
  return first === null ? "no messages" : `${first} → ${last} (${seconds.toFixed(1)} s)`;
}

function describeLag(summary: Summary): string {
  const lag = summary.lag;
  if (!lag) return "not available";
  return `${
    count(lag.totalLag)
  } message(s) on ${lag.topic} (group ${lag.group}, ${lag.state}, ${lag.members} member(s))`;
}

function binLabel(bin: HistogramBin): string {
  return `${bin.from.toFixed(1)}–${bin.to.toFixed(1)}`;
}

/** A plain-text report for a terminal. */
export function renderTable(summary: Summary): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(14)}${text}`);
  lines.push(`churnctl summary — ${describeSource(summary)}`);
  row("window", describeWindow(summary));
  row("messages", count(summary.messages));
  row("predictions", `${count(summary.predictions)} (${count(summary.customers)} distinct customers)`);
  row("dead letters", count(summary.dead_letters));
  row(
    "churn rate",
    `${percent(summary.churn.rate)} (${count(summary.churn.yes)} Yes / ${count(summary.churn.no)} No)`,
  );
  row(
    "probability",
    summary.probability.mean === null
      ? "—"
      : `mean ${summary.probability.mean.toFixed(3)}, min ${summary.probability.min!.toFixed(3)}, max ${
        summary.probability.max!.toFixed(3)
      }`,
  );
  row("throughput", summary.throughput_per_s === null ? "—" : `${summary.throughput_per_s.toFixed(1)} predictions/s`);
  row("inference", latencyLine(summary.latency_ms.inference));
  row("end-to-end", latencyLine(summary.latency_ms.end_to_end));
  row("consumer lag", describeLag(summary));
  if (summary.model_versions.length > 0) row("model", summary.model_versions.join(", "));
  if (summary.unreadable > 0) row("unreadable", `${count(summary.unreadable)} message(s) could not be decoded`);

  const peak = Math.max(1, ...summary.probability.histogram.map((bin) => bin.count));
  lines.push("", "churn probability");
  for (const bin of summary.probability.histogram) {
    const bar = "█".repeat(Math.round((bin.count / peak) * 40));
    lines.push(`  ${binLabel(bin)}  ${bar}${bar ? " " : ""}${count(bin.count)}`);
  }

  lines.push("", `top ${summary.top.length} customers most at risk`);
  if (summary.top.length === 0) lines.push("  (none)");
  else {
    lines.push(`  ${"customerID".padEnd(14)}${"probability".padStart(12)}  prediction  seen`);
    for (const item of summary.top) {
      lines.push(
        `  ${item.customerID.padEnd(14)}${item.churn_probability.toFixed(4).padStart(12)}  ${
          item.prediction.padEnd(10)
        }  ${item.predictions}`,
      );
    }
  }

  lines.push("", "dead letters by reason");
  if (summary.dead_letter_reasons.length === 0) lines.push("  (none)");
  const width = Math.max(0, ...summary.dead_letter_reasons.map((item) => item.reason.length));
  for (const item of summary.dead_letter_reasons) lines.push(`  ${item.reason.padEnd(width)}  ${count(item.count)}`);
  return lines.join("\n") + "\n";
}

function mdEscape(text: string): string {
  return text.replace(/[|\\`*_[\]<>]/g, (char) => `\\${char}`);
}

/** A Markdown report (for a pull request, a wiki page or a chat message). */
export function renderMarkdown(summary: Summary): string {
  const out: string[] = [];
  out.push("# Churn prediction summary", "");
  out.push(`Source: ${mdEscape(describeSource(summary))}  `);
  out.push(`Window: ${mdEscape(describeWindow(summary))}  `);
  out.push(`Generated: ${summary.generated_at}`, "");
  out.push("| figure | value |", "|---|---|");
  const figures: [string, string][] = [
    ["messages", count(summary.messages)],
    ["predictions", count(summary.predictions)],
    ["distinct customers", count(summary.customers)],
    ["dead letters", count(summary.dead_letters)],
    ["churn rate", `${percent(summary.churn.rate)} (${count(summary.churn.yes)} Yes / ${count(summary.churn.no)} No)`],
    ["mean churn probability", summary.probability.mean === null ? "—" : summary.probability.mean.toFixed(3)],
    ["throughput", summary.throughput_per_s === null ? "—" : `${summary.throughput_per_s.toFixed(1)} predictions/s`],
    ["inference latency", latencyLine(summary.latency_ms.inference)],
    ["end-to-end latency", latencyLine(summary.latency_ms.end_to_end)],
    ["consumer lag", describeLag(summary)],
    ["model", summary.model_versions.join(", ") || "—"],
  ];
  for (const [label, value] of figures) out.push(`| ${label} | ${mdEscape(value)} |`);
  out.push("", "## Churn probability", "", "| probability | predictions |", "|---|---:|");
  for (const bin of summary.probability.histogram) out.push(`| ${binLabel(bin)} | ${count(bin.count)} |`);
  out.push("", `## Top ${summary.top.length} customers most at risk`, "");
  if (summary.top.length === 0) out.push("None.");
  else {
    out.push("| customerID | churn probability | prediction | predictions |", "|---|---:|---|---:|");
    for (const item of summary.top) {
      out.push(
        `| ${mdEscape(item.customerID)} | ${item.churn_probability.toFixed(4)} | ${
          mdEscape(item.prediction)
        } | ${item.predictions} |`,
      );
    }
  }
  out.push("", "## Dead letters by reason", "");
  if (summary.dead_letter_reasons.length === 0) out.push("None.");
  else {
    out.push("| reason | count |", "|---|---:|");
    for (const item of summary.dead_letter_reasons) out.push(`| ${mdEscape(item.reason)} | ${count(item.count)} |`);
  }
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// HTML

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A "nice" axis maximum (1, 2, 2.5 or 5 × 10^k) at or above `value`. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const CHART = { width: 560, height: 270, left: 52, right: 16, top: 26, bottom: 44 };
const COLORS = { yes: "#d9480f", no: "#1c7ed6", dead: "#868e96", bar: "#1c7ed6", grid: "#e9ecef", text: "#495057" };

function yAxis(max: number, plotHeight: number, plotWidth: number): string {
  const ticks = 4;
  let out = "";
  for (let index = 0; index <= ticks; index++) {
    const value = (max / ticks) * index;
    const y = CHART.top + plotHeight - (plotHeight * index) / ticks;
    out += `<line x1="${CHART.left}" x2="${CHART.left + plotWidth}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`;
    out += `<text x="${CHART.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${
      esc(Number.isInteger(value) ? count(value) : value.toFixed(1))
    }</text>`;
  }
  return out;
}

function emptyChart(id: string, label: string, message: string): string {
  return `<svg id="${id}" class="chart" role="img" aria-label="${esc(label)}" viewBox="0 0 ${CHART.width} 120" ` +
    `width="${CHART.width}" height="120" xmlns="http://www.w3.org/2000/svg">` +
    `<rect x="0" y="0" width="${CHART.width}" height="120" fill="#f8f9fa" rx="6"/>` +
    `<text x="${CHART.width / 2}" y="64" text-anchor="middle" class="empty">${esc(message)}</text></svg>`;
}

/** The probability histogram: ten vertical bars, split into churn (orange) and no churn (blue) when known. */
export function histogramSvg(bins: readonly HistogramBin[]): string {
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  const label = "Histogram of churn probabilities";
  if (total === 0) return emptyChart("chart-histogram", label, "No predictions in this window");
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const max = Math.max(4, niceMax(Math.max(...bins.map((bin) => bin.count))));
  const slot = plotWidth / bins.length;
  const barWidth = slot - 6;
  let bars = "";
  bins.forEach((bin, index) => {
    const x = CHART.left + index * slot + 3;
    const bottom = CHART.top + plotHeight;
    const churn = bin.churn ?? 0;
    const parts: [string, number, string][] = bin.churn === undefined
      ? [["all", bin.count, COLORS.bar]]
      : [["no", bin.count - churn, COLORS.no], ["yes", churn, COLORS.yes]];
    let base = bottom;
    for (const [kind, value, color] of parts) {
      if (value <= 0) continue;
      const height = (value / max) * plotHeight;
      base -= height;
      bars += `<rect class="bar ${kind}" data-bin="${binLabel(bin)}" data-count="${value}" x="${x.toFixed(1)}" y="${
        base.toFixed(1)
      }" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="${color}"><title>${binLabel(bin)}: ${
        count(value)
      } predictions${kind === "yes" ? " of churn" : kind === "no" ? " of no churn" : ""}</title></rect>`;
    }
    if (bin.count > 0) {
      bars += `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(base - 4).toFixed(1)}" text-anchor="middle" ` +
        `class="value">${count(bin.count)}</text>`;
    }
    bars += `<text x="${(x + barWidth / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" class="tick">${
      bin.from.toFixed(1)
    }</text>`;
  });
  const legend = bins.some((bin) => bin.churn !== undefined)
    ? legendSvg([["no churn", COLORS.no], ["churn", COLORS.yes]])
    : "";
  return `<svg id="chart-histogram" class="chart" role="img" aria-label="${label}" viewBox="0 0 ${CHART.width} ${CHART.height}" width="${CHART.width}" height="${CHART.height}" xmlns="http://www.w3.org/2000/svg">` +
    yAxis(max, plotHeight, plotWidth) + bars + legend +
    `<text x="${CHART.left + plotWidth / 2}" y="${CHART.height - 8}" text-anchor="middle" class="axis">` +
    `churn probability (start of each 0.1 band)</text></svg>`;
}

function legendSvg(entries: readonly [string, string][]): string {
  return entries.map(([text, color], index) =>
    `<rect x="${CHART.left + index * 110}" y="4" width="10" height="10" fill="${color}"/>` +
    `<text x="${CHART.left + 14 + index * 110}" y="13" class="tick">${text}</text>`
  ).join("");
}

/** Predictions over time: stacked bars per bucket (churn, no churn, dead letters). */
export function timelineSvg(points: readonly TimelinePoint[], bucketSeconds: number): string {
  const label = "Predictions over time";
  if (points.length === 0) return emptyChart("chart-timeline", label, "No messages in this window");
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const max = Math.max(4, niceMax(Math.max(...points.map((point) => point.predictions + point.dead_letters))));
  const slot = plotWidth / points.length;
  const gap = slot > 6 ? 1.5 : 0;
  let bars = "";
  points.forEach((point, index) => {
    const x = CHART.left + index * slot + gap / 2;
    let base = CHART.top + plotHeight;
    const segments: [string, number, string][] = [
      ["no", point.predictions - point.churn, COLORS.no],
      ["yes", point.churn, COLORS.yes],
      ["dead", point.dead_letters, COLORS.dead],
    ];
    for (const [kind, value, color] of segments) {
      if (value <= 0) continue;
      const height = (value / max) * plotHeight;
      base -= height;
      bars += `<rect class="bar ${kind}" x="${x.toFixed(1)}" y="${base.toFixed(1)}" width="${
        Math.max(0.5, slot - gap).toFixed(1)
      }" height="${height.toFixed(1)}" fill="${color}"><title>${esc(point.start)}: ${count(value)} ${
        kind === "dead" ? "dead letters" : kind === "yes" ? "churn" : "no churn"
      }</title></rect>`;
    }
  });
  const firstTime = points[0].start.slice(11, 19);
  const lastTime = new Date(Date.parse(points[points.length - 1].start) + bucketSeconds * 1000).toISOString().slice(
    11,
    19,
  );
  const legend = legendSvg([["no churn", COLORS.no], ["churn", COLORS.yes], ["dead letters", COLORS.dead]]);
  return `<svg id="chart-timeline" class="chart" role="img" aria-label="${label}" viewBox="0 0 ${CHART.width} ${CHART.height}" width="${CHART.width}" height="${CHART.height}" xmlns="http://www.w3.org/2000/svg">` +
    yAxis(max, plotHeight, plotWidth) + bars + legend +
    `<text x="${CHART.left}" y="${CHART.top + plotHeight + 16}" class="tick">${firstTime}</text>` +
    `<text x="${CHART.left + plotWidth}" y="${
      CHART.top + plotHeight + 16
    }" text-anchor="end" class="tick">${lastTime}</text>` +
    `<text x="${CHART.left + plotWidth / 2}" y="${CHART.height - 8}" text-anchor="middle" class="axis">` +
    `time (UTC), messages per ${bucketSeconds} s</text></svg>`;
}

/** Dead letters by reason: horizontal bars, most frequent first. */
export function deadLetterSvg(reasons: readonly { reason: string; count: number }[]): string {
  const label = "Dead letters by reason";
  if (reasons.length === 0) {
    return emptyChart("chart-deadletters", label, "No dead letters in this window: every message was scored");
  }
  const shown = reasons.slice(0, 12);
  const rowHeight = 26;
  const labelWidth = 170;
  const height = CHART.top + shown.length * rowHeight + 24;
  const plotWidth = CHART.width - labelWidth - CHART.right - 50;
  const max = Math.max(...shown.map((item) => item.count));
  let rows = "";
  shown.forEach((item, index) => {
    const y = CHART.top + index * rowHeight;
    const width = Math.max(2, (item.count / max) * plotWidth);
    rows += `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end" class="tick">${esc(item.reason)}</text>` +
      `<rect class="bar" data-reason="${esc(item.reason)}" x="${labelWidth}" y="${y + 4}" width="${
        width.toFixed(1)
      }" height="${rowHeight - 8}" fill="${COLORS.dead}"><title>${esc(item.reason)}: ${
        count(item.count)
      }</title></rect>` +
      `<text x="${labelWidth + width + 6}" y="${y + 16}" class="value">${count(item.count)}</text>`;
  });
  const more = reasons.length > shown.length
    ? `<text x="${labelWidth}" y="${height - 6}" class="tick">and ${reasons.length - shown.length} more reasons</text>`
    : "";
  return `<svg id="chart-deadletters" class="chart" role="img" aria-label="${label}" viewBox="0 0 ${CHART.width} ${height}" width="${CHART.width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    rows + more + `</svg>`;
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212529;margin:0;background:#f1f3f5}
main{max-width:1160px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 8px}
.sub{color:#495057;margin:0 0 16px}
.intro{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin-bottom:16px}
.card{background:#fff;border-radius:8px;padding:12px 14px}
.card .label{color:#495057;font-size:13px}.card .value{font-size:24px;font-weight:600}
.card .note{color:#868e96;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
section{background:#fff;border-radius:8px;padding:14px 16px;margin-bottom:16px}
section p{color:#495057;margin:0 0 8px}
svg.chart{max-width:100%;height:auto;display:block}
svg .tick{font-size:11px;fill:${COLORS.text}}svg .axis{font-size:12px;fill:${COLORS.text}}
svg .value{font-size:11px;fill:#212529}svg .empty{font-size:14px;fill:#868e96}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e9ecef}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td{white-space:nowrap}
footer{color:#868e96;font-size:12px;text-align:center;padding:8px}
`;

function card(label: string, value: string, note = ""): string {
  return `<div class="card"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${
    note ? `<div class="note">${esc(note)}</div>` : ""
  }</div>`;
}

function latencyRow(label: string, value: Percentiles | null, meaning: string): string {
  if (!value) return `<tr><td>${esc(label)}</td><td colspan="4">not available</td><td>${esc(meaning)}</td></tr>`;
  return `<tr><td>${esc(label)}</td><td class="num">${esc(ms(value.p50))}</td><td class="num">${
    esc(ms(value.p95))
  }</td><td class="num">${esc(ms(value.p99))}</td><td class="num">${esc(ms(value.max))}</td><td>${
    esc(meaning)
  }</td></tr>`;
}

/** One self-contained HTML page: figures, three inline SVG charts and tables, with words for a new reader. */
export function renderHtml(summary: Summary): string {
  const title = `Churn prediction summary — ${summary.window.first?.slice(0, 16).replace("T", " ") ?? "no data"}`;
  const top = summary.top.length === 0 ? "<p>No predictions in this window.</p>" : `<table id="top-at-risk">
<thead><tr><th>#</th><th>customer</th><th class="num">churn probability</th><th>prediction</th><th class="num">times scored</th></tr></thead>
<tbody>${
    summary.top.map((item, index) =>
      `<tr><td>${index + 1}</td><td>${esc(item.customerID)}</td><td class="num">${
        (item.churn_probability * 100).toFixed(1)
      } %</td><td>${
        esc(item.prediction === "Yes" ? "will churn" : "will stay")
      }</td><td class="num">${item.predictions}</td></tr>`
    ).join("\n")
  }</tbody></table>`;
  const lag = summary.lag;
  const lagText = lag
    ? `${count(lag.totalLag)} customer event(s) on <code>${
      esc(lag.topic)
    }</code> were waiting to be scored when this report was made (consumer group <code>${esc(lag.group)}</code>, ${
      esc(lag.state)
    }, ${lag.members} running consumer(s)). 0 means the scorer is keeping up.`
    : "The consumer lag could not be read for this report.";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Churn prediction summary</h1>
<p class="sub">${esc(describeWindow(summary))} · generated ${esc(summary.generated_at)} · ${
    esc(describeSource(summary))
  }</p>
<div class="intro"><p>Each customer event (a telecom customer's contract, services and charges) was scored by a
machine-learning model that estimates the <b>probability that the customer cancels</b> (churns). A probability at
or above the model's decision threshold${
    summary.probability.lowest_churn === null
      ? ""
      : ` (about ${summary.probability.lowest_churn.toFixed(2)}: the lowest probability predicted as churn here)`
  } is a <b>churn</b> prediction. Events that could not be scored (malformed or invalid data) were set aside
as <b>dead letters</b> with the reason. The figures below cover only the time window shown above.</p></div>
<div class="cards">
${card("events handled", count(summary.messages), "scored + set aside")}
${card("predictions", count(summary.predictions), `${count(summary.customers)} distinct customers`)}
${
    card(
      "predicted to churn",
      percent(summary.churn.rate),
      `${count(summary.churn.yes)} of ${count(summary.predictions)}`,
    )
  }
${
    card(
      "dead letters",
      count(summary.dead_letters),
      summary.messages > 0 ? `${percent(summary.dead_letters / summary.messages)} of events` : "",
    )
  }
${
    card(
      "throughput",
      summary.throughput_per_s === null ? "—" : `${summary.throughput_per_s.toFixed(1)}/s`,
      "predictions per second",
    )
  }
${
    card(
      "scoring time p95",
      summary.latency_ms.inference ? ms(summary.latency_ms.inference.p95) : "—",
      "model time per event",
    )
  }
${
    card(
      "end-to-end p95",
      summary.latency_ms.end_to_end ? ms(summary.latency_ms.end_to_end.p95) : "—",
      "event → prediction written",
    )
  }
${card("waiting to be scored", lag ? count(lag.totalLag) : "—", "consumer lag")}
</div>
<div class="grid">
<section id="section-histogram"><h2>How likely are customers to churn?</h2>
<p>Number of predictions per churn-probability band; the orange part are customers predicted to leave.</p>
${histogramSvg(summary.probability.histogram)}</section>
<section id="section-timeline"><h2>Predictions over time</h2>
<p>Events scored per time slice: blue stay, orange churn, grey could not be scored.</p>
${timelineSvg(summary.timeline.points, summary.timeline.bucket_seconds)}</section>
<section id="section-deadletters"><h2>Why were events set aside?</h2>
<p>Dead letters by reason code. Each one keeps its original bytes on the dead-letter topic for inspection.</p>
${deadLetterSvg(summary.dead_letter_reasons)}</section>
<section id="section-top"><h2>Customers most at risk</h2>
<p>The ${summary.top.length} customers with the highest churn probability in this window (each listed once).</p>
${top}</section>
</div>
<section id="section-latency"><h2>Speed</h2>
<p>p50 is the typical value; p95 and p99 are the slow tail (95 % and 99 % of events were at or under it).</p>
<table><thead><tr><th>measure</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">max</th><th>meaning</th></tr></thead>
<tbody>
${latencyRow("scoring", summary.latency_ms.inference, "model time attributed to one event")}
${
    latencyRow(
      "end to end",
      summary.latency_ms.end_to_end,
      "from the event's time to its prediction being written",
    )
  }
</tbody></table>
<p style="margin-top:8px">${lagText}</p></section>
<footer>churnctl summary · ${esc(summary.schema)} · model ${esc(summary.model_versions.join(", ") || "unknown")}${
    summary.unreadable > 0 ? ` · ${count(summary.unreadable)} unreadable message(s) skipped` : ""
  }</footer>
</main>
</body>
</html>
`;
}
