// Hand-written SVG grouped bar charts for the report (no chart library): a
// title, a y axis with "nice" ticks and a label, one group of bars per
// category (an epoch, a shard run), one colour per series (a system), a
// legend, and the value printed on every bar. Each bar carries its value in
// data-value so tests can check bars are proportional to values.
import { escapeXml } from '../../local-s3/s3-xml.js';

export interface BarSeries {
  readonly name: string;
  /** Fixed colour, so a system keeps its colour across charts; defaults to the palette. */
  readonly colour?: string;
  /** One per group; null draws "n/a" (not measured or failed). */
  readonly values: readonly (number | null)[];
}

export interface GroupedBarChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly yLabel: string;
  readonly groups: readonly string[];
  readonly series: readonly BarSeries[];
  /** 'log' when values span orders of magnitude (metadata: local disk vs a mount). Default linear. */
  readonly scale?: 'linear' | 'log';
}

interface Axis {
  /** Pixel y of a value. */
  y(v: number): number;
  ticks: number[];
  /** Log ticks are powers of ten and are labelled one by one (100, 1,000, 10k, 1M). */
  log: boolean;
}

function linearAxis(max: number, top: number, height: number): Axis {
  const yMax = niceMax(max * 1.08);
  return { y: (v) => top + height - (v / yMax) * height, ticks: Array.from({ length: 6 }, (_, i) => (yMax * i) / 5), log: false };
}

/** Decades from the smallest value's to the largest's; zero and negative values sit on the baseline. */
function logAxis(min: number, max: number, top: number, height: number): Axis {
  const lo = Math.floor(Math.log10(min > 0 ? min : 1));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max * 1.08)));
  const y = (v: number): number => top + height - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * height;
  return { y, ticks: Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)), log: true };
}

const WIDTH = 960;
const HEIGHT = 500;
const MARGIN = { left: 90, right: 190, top: 70, bottom: 60 };
/** Colour-blind-safe palette (Okabe-Ito), in system order. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#999999', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'];

/** The smallest 1/2/5 x 10^k that is >= max: ticks land on round numbers. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

/** Compact labels: 0 -> "0", 1234 -> "1,234", 12.34 -> "12.3", 12345 -> "12.3k", 123456 -> "123k", 2e6 -> "2M". */
function formatValue(v: number): string {
  if (v === 0) return '0';
  if (v >= 1_000_000) return `${Number((v / 1e6).toFixed(1)).toLocaleString('en-US')}M`;
  if (v >= 100_000) return `${Math.round(v / 1000).toLocaleString('en-US')}k`;
  if (v >= 10_000) return `${Number((v / 1000).toFixed(1))}k`;
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Axis labels share one unit, chosen by the largest tick: "0, 4k, 8k ... 20k", never "8,000" beside "12.0k". */
function formatTick(v: number, maxTick: number): string {
  if (v === 0) return '0';
  if (maxTick >= 1_000_000) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (maxTick >= 10_000) return `${Number((v / 1000).toPrecision(3)).toLocaleString('en-US')}k`;
  return formatValue(v);
}

/** Plot area in pixels. */
interface Plot {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

const PLOT: Plot = { left: MARGIN.left, top: MARGIN.top, width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };

function seriesColour(s: BarSeries, i: number): string {
  return s.colour ?? PALETTE[i % PALETTE.length] ?? '#333';
}

function chooseAxis(chart: GroupedBarChart): Axis {
  const all = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const positive = all.filter((v) => v > 0);
  // A log axis needs a positive value to anchor on; an empty chart falls back to linear.
  if (chart.scale === 'log' && positive.length > 0) return logAxis(Math.min(...positive), Math.max(...positive), PLOT.top, PLOT.height);
  return linearAxis(Math.max(0, ...all), PLOT.top, PLOT.height);
}

function header(chart: GroupedBarChart): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="20" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle) out.push(`<text x="${WIDTH / 2}" y="50" text-anchor="middle" font-size="13" fill="#555">${escapeXml(chart.subtitle)}</text>`);
  return out;
}

/** Grid lines with tick labels, the two axis lines and the rotated y label. */
function axes(axis: Axis, yLabel: string): string[] {
  const out: string[] = [];
  const bottom = PLOT.top + PLOT.height;
  const maxTick = Math.max(...axis.ticks);
  for (const v of axis.ticks) {
    const ty = axis.y(v).toFixed(1);
    out.push(`<line x1="${PLOT.left}" y1="${ty}" x2="${PLOT.left + PLOT.width}" y2="${ty}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${PLOT.left - 8}" y="${(Number(ty) + 4).toFixed(1)}" text-anchor="end" font-size="12">${escapeXml(axis.log ? formatValue(v) : formatTick(v, maxTick))}</text>`);
  }
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<line x1="${PLOT.left}" y1="${bottom}" x2="${PLOT.left + PLOT.width}" y2="${bottom}" stroke="#333"/>`);
  const cy = PLOT.top + PLOT.height / 2;
  out.push(`<text x="22" y="${cy}" text-anchor="middle" font-size="14" transform="rotate(-90 22 ${cy})">${escapeXml(yLabel)}</text>`);
  return out;
}

/** One group per category, one bar per series, the value printed above each bar. */
function bars(chart: GroupedBarChart, axis: Axis): string[] {
  const out: string[] = [];
  const bottom = PLOT.top + PLOT.height;
  const groupW = PLOT.width / Math.max(1, chart.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const labelSize = barW < 34 ? 9 : 11;
  chart.groups.forEach((group, g) => {
    out.push(`<text x="${(PLOT.left + g * groupW + groupW / 2).toFixed(1)}" y="${bottom + 22}" text-anchor="middle" font-size="13">${escapeXml(group)}</text>`);
    chart.series.forEach((s, i) => {
      const v = s.values[g] ?? null;
      const x = PLOT.left + g * groupW + groupW * 0.1 + i * barW;
      const cx = (x + barW / 2).toFixed(1);
      if (v === null || !Number.isFinite(v)) {
        out.push(`<text x="${cx}" y="${bottom - 4}" text-anchor="middle" font-size="${labelSize}" fill="#999">n/a</text>`);
        return;
      }
      const top = axis.y(v);
      out.push(`<rect class="bar" data-series="${escapeXml(s.name)}" data-group="${escapeXml(group)}" data-value="${v}" x="${x.toFixed(1)}" y="${top.toFixed(2)}" width="${(barW - 2).toFixed(1)}" height="${(bottom - top).toFixed(2)}" fill="${seriesColour(s, i)}"/>`);
      out.push(`<text x="${cx}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="${labelSize}">${escapeXml(formatValue(v))}</text>`);
    });
  });
  return out;
}

/** Characters of 13 px text that fit the legend column beside the swatch. */
const LEGEND_LINE_CHARS = 22;

/** Splits a legend name at spaces into lines of at most LEGEND_LINE_CHARS (a longer word keeps its own line). */
export function legendLines(name: string): string[] {
  const lines: string[] = [];
  for (const word of name.split(' ')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= LEGEND_LINE_CHARS) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** One swatch and name per series; a long name ("FUSE ceiling (libfuse3 passthrough_ll)") wraps instead of running off the chart. */
function legend(series: readonly BarSeries[]): string[] {
  const lx = WIDTH - MARGIN.right + 20;
  let ly = PLOT.top + 10;
  return series.flatMap((s, i) => {
    const lines = legendLines(s.name);
    const y = ly;
    ly += 24 + (lines.length - 1) * 16;
    const text = lines.length === 1 ? escapeXml(s.name) : lines.map((l, k) => `<tspan x="${lx + 24}" dy="${k === 0 ? 0 : 16}">${escapeXml(l)}</tspan>`).join('');
    return [`<rect x="${lx}" y="${y}" width="16" height="16" fill="${seriesColour(s, i)}"/>`, `<text class="legend" x="${lx + 24}" y="${y + 13}" font-size="13">${text}</text>`];
  });
}

export function renderGroupedBars(chart: GroupedBarChart): string {
  const axis = chooseAxis(chart);
  return [...header(chart), ...axes(axis, chart.yLabel), ...bars(chart, axis), ...legend(chart.series), '</svg>'].join('\n') + '\n';
}
