import { encode } from 'html-entities';

/**
 * Small self-contained SVG charts (line and scatter) for reports and explainer artifacts: no script, no
 * external fonts or requests, so they embed in HTML and render identically in Chromium's PDF printer.
 */

export interface LineSeries {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface ScatterGroup {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  readonly marker: 'dot' | 'cross';
  /** Index into the palette. */
  readonly color: number;
}

export interface ChartFrame {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Fixed y range; default: the data's range. */
  readonly yRange?: readonly [number, number];
}

/** Tableau-10 style colours, distinguishable in print. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f3b73',
  '#8c564b',
] as const;

export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toFixed(10)));
  return ticks;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

interface Layout {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly plotW: number;
  readonly plotH: number;
}

/** The plot area, with `rows` legend rows of 16 px added below the x axis. */
function layout(frame: ChartFrame, rows: number): Layout {
  const width = frame.width ?? 520;
  const height = frame.height ?? 300;
  const left = 56;
  const top = 28;
  return {
    width,
    height: height + 16 * rows,
    left,
    top,
    plotW: width - left - 16,
    plotH: height - top - 40,
  };
}

function range(values: readonly number[], pad: number): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

function axes(
  frame: ChartFrame,
  l: Layout,
  x: [number, number],
  y: [number, number],
  showXTicks = true,
): string {
  const sx = (v: number): number => l.left + ((v - x[0]) / (x[1] - x[0])) * l.plotW;
  const sy = (v: number): number => l.top + l.plotH - ((v - y[0]) / (y[1] - y[0])) * l.plotH;
  const parts: string[] = [
    `<rect x="${l.left}" y="${l.top}" width="${l.plotW}" height="${l.plotH}" fill="#fff" stroke="#999"/>`,
    `<text x="${l.width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${encode(frame.title)}</text>`,
    `<text x="${l.left + l.plotW / 2}" y="${l.top + l.plotH + 32}" text-anchor="middle" font-size="11">${encode(frame.xLabel)}</text>`,
    `<text transform="translate(14 ${l.top + l.plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11">${encode(frame.yLabel)}</text>`,
  ];
  for (const t of niceTicks(y[0], y[1])) {
    parts.push(
      `<line x1="${l.left}" x2="${l.left + l.plotW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${l.left - 4}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="10">${formatTick(t)}</text>`,
    );
  }
  if (showXTicks) {
    for (const t of niceTicks(x[0], x[1])) {
      parts.push(
        `<text x="${sx(t).toFixed(1)}" y="${l.top + l.plotH + 14}" text-anchor="middle" font-size="10">${formatTick(t)}</text>`,
      );
    }
  }
  return parts.join('');
}

/** Width of one legend entry: room for the longest label (about 5.6 px per character at 10 px). */
function legendItemWidth(labels: readonly string[]): number {
  return Math.max(120, 26 + 5.6 * Math.max(0, ...labels.map((s) => s.length)));
}

function legendRows(frame: ChartFrame, labels: readonly string[]): number {
  const perRow = Math.max(1, Math.floor(((frame.width ?? 520) - 72) / legendItemWidth(labels)));
  return Math.ceil(labels.length / perRow);
}

function legend(
  l: Layout,
  items: readonly { label: string; color: string; kind: 'line' | 'dashed' | 'dot' | 'cross' }[],
): string {
  const itemWidth = legendItemWidth(items.map((i) => i.label));
  const perRow = Math.max(1, Math.floor((l.width - 72) / itemWidth));
  return items
    .map((item, i) => {
      const x = l.left + (i % perRow) * itemWidth;
      const y = l.top + l.plotH + 48 + Math.floor(i / perRow) * 16;
      const mark =
        item.kind === 'dot'
          ? `<circle cx="${x + 8}" cy="${y - 4}" r="3.5" fill="${item.color}"/>`
          : item.kind === 'cross'
            ? `<path d="M${x + 4} ${y - 8}l8 8M${x + 12} ${y - 8}l-8 8" stroke="${item.color}" stroke-width="2"/>`
            : `<line x1="${x}" x2="${x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"${item.kind === 'dashed' ? ' stroke-dasharray="4 3"' : ''}/>`;
      return `${mark}<text x="${x + 20}" y="${y}" font-size="10">${encode(item.label)}</text>`;
    })
    .join('');
}

function svg(l: Layout, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="Helvetica, Arial, sans-serif">${body}</svg>`;
}

export function lineChart(frame: ChartFrame, series: readonly LineSeries[]): string {
  const l = layout(
    frame,
    legendRows(
      frame,
      series.map((s) => s.label),
    ),
  );
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x = range(xs, 0.02);
  const y: [number, number] = frame.yRange ? [frame.yRange[0], frame.yRange[1]] : range(ys, 0.08);
  const sx = (v: number): number => l.left + ((v - x[0]) / (x[1] - x[0])) * l.plotW;
  const sy = (v: number): number => l.top + l.plotH - ((v - y[0]) / (y[1] - y[0])) * l.plotH;
  const lines = series
    .map((s, i) => {
      const color = paletteColor(i);
      const d = s.points
        .map((p, k) => `${k ? 'L' : 'M'}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`)
        .join('');
      const dots = s.points
        .map(
          (p) => `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`,
        )
        .join('');
      return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>${dots}`;
    })
    .join('');
  const items = series.map((s, i) => ({
    label: s.label,
    color: paletteColor(i),
    kind: s.dashed ? ('dashed' as const) : ('line' as const),
  }));
  return svg(l, axes(frame, l, x, y) + lines + legend(l, items));
}

export interface LegendEntry {
  readonly label: string;
  readonly marker: 'dot' | 'cross';
  readonly color: number;
}

/** Scatter plot; `legendEntries` replaces the default legend (one entry per group). */
export function scatterChart(
  frame: ChartFrame,
  groups: readonly ScatterGroup[],
  legendEntries?: readonly LegendEntry[],
): string {
  const entries = legendEntries ?? groups;
  const l = layout(
    frame,
    legendRows(
      frame,
      entries.map((g) => g.label),
    ),
  );
  const x = range(
    groups.flatMap((g) => g.points.map((p) => p[0])),
    0.05,
  );
  const y = range(
    groups.flatMap((g) => g.points.map((p) => p[1])),
    0.05,
  );
  const sx = (v: number): number => l.left + ((v - x[0]) / (x[1] - x[0])) * l.plotW;
  const sy = (v: number): number => l.top + l.plotH - ((v - y[0]) / (y[1] - y[0])) * l.plotH;
  const marks = groups
    .map((g) => {
      const color = paletteColor(g.color);
      return g.points
        .map(([px, py]) => {
          const cx = sx(px).toFixed(1);
          const cy = sy(py).toFixed(1);
          return g.marker === 'dot'
            ? `<circle cx="${cx}" cy="${cy}" r="2.6" fill="${color}" fill-opacity="0.75"/>`
            : `<path d="M${cx} ${cy}m-3 -3l6 6m0 -6l-6 6" stroke="${color}" stroke-width="1.6"/>`;
        })
        .join('');
    })
    .join('');
  const items = entries.map((g) => ({ label: g.label, color: paletteColor(g.color), kind: g.marker }));
  return svg(l, axes(frame, l, x, y, false) + marks + legend(l, items));
}
