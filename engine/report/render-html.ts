import { encode } from 'html-entities';
import { meanSd } from './metric-stats.js';
import {
  METRIC_NAMES,
  type MetricName,
  type ReportInput,
  type ReportRun,
  type ReportSeries,
} from './report-input.js';
import { lineChart } from './svg-chart.js';

/**
 * The audit report as one self-contained HTML document: inline CSS, images as data URLs, charts as inline
 * SVG generated here. No script and no external request, so it opens offline and prints to PDF as shown.
 */

const RATE_SERIES = new Set(['CA', 'ASR', 'asr_all', 'PA', 'ca', 'asr', 'pa']);
/** Series recorded per optimisation step (electron/jobs/training-progress.ts), not per epoch. */
const STEP_SERIES = new Set(['loss']);

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 Helvetica, Arial, sans-serif; color: #1d2330; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 19pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; padding-bottom: 1mm; border-bottom: 1.5px solid #4e79a7; break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; break-after: avoid; }
.meta { color: #555; margin: 0 0 3mm; }
.summary { background: #f1f5fa; border-left: 3px solid #4e79a7; padding: 2mm 3mm; margin: 3mm 0; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 9pt; }
th, td { border: 1px solid #d5d9e0; padding: 1mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; }
code, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8pt; word-break: break-all; }
.params { margin: 0; padding: 0; list-style: none; columns: 2; column-gap: 6mm; }
.kv { margin: 0; padding: 0; list-style: none; }
.kv li, .params li { font-size: 8.5pt; break-inside: avoid; }
.sd { color: #666; }
.den { color: #777; font-size: 7.5pt; }
figure { margin: 2mm 0 4mm; break-inside: avoid; text-align: center; }
figure img { max-width: 100%; max-height: 120mm; border: 1px solid #e0e3e8; }
figcaption { font-size: 8.5pt; color: #444; margin-top: 1mm; }
.charts { display: flex; flex-wrap: wrap; gap: 3mm; }
.charts figure { flex: 1 1 85mm; }
.page-break { break-after: page; }
.verdict-backdoor-suspected { color: #b3261e; }
.verdict-hardened { color: #1b6e3a; }
footer { margin-top: 8mm; color: #777; font-size: 8pt; border-top: 1px solid #ddd; padding-top: 2mm; }
`;

function esc(value: unknown): string {
  return encode(String(value));
}

function dataUrl(mime: string, bytes: Uint8Array): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

function svgFigure(svg: string, caption: string): string {
  return `<figure><img alt="${esc(caption)}" src="${dataUrl('image/svg+xml', new TextEncoder().encode(svg))}"/><figcaption>${esc(caption)}</figcaption></figure>`;
}

function table(headers: readonly string[], rows: readonly string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function provenance(p: Readonly<Record<string, string | number>> | undefined): string {
  if (!p || Object.keys(p).length === 0) return '—';
  return `<ul class="kv">${Object.entries(p)
    .map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`)
    .join('')}</ul>`;
}

function formatMetric(name: MetricName, values: readonly number[] | undefined): string {
  if (!values || values.length === 0) return '<td class="num">—</td>';
  const { mean, sd, n } = meanSd(values);
  const digits = name === 'DER' ? 3 : 2;
  const unit = name === 'DER' ? '' : '%';
  const spread = n > 1 ? ` <span class="sd">± ${sd.toFixed(digits)}</span>` : '';
  return `<td class="num">${mean.toFixed(digits)}${unit}${spread}</td>`;
}

/** "3 (1, 2, 3)", or "2 runs, 1 seed (1, 1)": repeated seeds are not independent samples. */
function seedCell(seeds: readonly number[]): string {
  const distinct = new Set(seeds).size;
  const list = `<span class="den">(${seeds.map(esc).join(', ')})</span>`;
  return distinct === seeds.length
    ? `${seeds.length} ${list}`
    : `${seeds.length} runs, ${distinct} seed${distinct === 1 ? '' : 's'} ${list}`;
}

function metricsSection(input: ReportInput): string {
  if (input.metrics.length === 0) return '<p>No metric rows were given.</p>';
  const present = METRIC_NAMES.filter((m) => input.metrics.some((r) => r.values[m]?.length));
  const rows = input.metrics.map((r) => [
    `<td>${esc(r.label)}<div class="den">runs ${r.runIds.map(esc).join(', ')}</div></td>`,
    `<td class="num">${seedCell(r.seeds)}</td>`,
    ...present.map((m) => formatMetric(m, r.values[m])),
  ]);
  const denominators = input.metrics
    .filter((r) => r.denominators && Object.keys(r.denominators).length)
    .map(
      (r) =>
        `${esc(r.label)}: ${Object.entries(r.denominators!)
          .map(([k, v]) => `${esc(k)} n=${esc(v)}`)
          .join(', ')}`,
    );
  return (
    table(['setting', 'seeds', ...present.map(esc)], rows) +
    `<p class="den">Mean ± sample standard deviation over runs (spread only between runs; runs of the same seed repeat one sample). CA: clean accuracy; ASR: attack success rate, triggered non-target test images classified as the target; asr_all: the same over all test images; PA: accuracy on triggered images; DER = (max(0, ΔASR) − max(0, ΔCA) + 1) / 2.${
      denominators.length ? ` Denominators: ${denominators.join('; ')}.` : ''
    }</p>`
  );
}

function scansSection(input: ReportInput): string {
  const scans = input.scans ?? [];
  if (scans.length === 0) return '';
  const modelLabel = (id: string | undefined): string =>
    id ? (input.models.find((m) => m.id === id)?.label ?? id) : '—';
  const rows = scans.map((s) => [
    `<td><code>${esc(s.runId)}</code></td>`,
    `<td>${esc(s.method)}</td>`,
    `<td>${esc(modelLabel(s.modelId))}</td>`,
    `<td>${s.verdict === 'backdoor-suspected' ? `<b>backdoor suspected${s.suspect ? `: ${esc(s.suspect)}` : ''}</b>` : 'no evidence'}</td>`,
    `<td>${esc(s.evidence)}</td>`,
  ]);
  return `<h3>Scans for unknown triggers</h3>${table(['run', 'scanner', 'model', 'verdict', 'evidence'], rows)}`;
}

function verdictSection(input: ReportInput): string {
  const verdicts = input.verdicts ?? [];
  if (verdicts.length === 0) return '<p>No model was vetted in the runs of this report.</p>';
  const rows = verdicts.map((v) => [
    `<td style="width:24%"><b>${esc(v.model)}</b><div class="hash">${esc(v.fingerprint)}</div></td>`,
    `<td style="width:18%"><b class="verdict-${esc(v.verdict.replace(/ /g, '-'))}">${esc(v.verdict)}</b>${
      v.flaggedClass ? `<div>flagged class: <b>${esc(v.flaggedClass)}</b></div>` : ''
    }</td>`,
    `<td>${
      v.evidence.length
        ? `<ul class="kv">${v.evidence
            .map(
              (e) =>
                `<li>${e.flagged ? '<b>' : ''}${esc(e.text)}${e.flagged ? '</b>' : ''} <span class="den">(run ${esc(e.runId)})</span></li>`,
            )
            .join('')}</ul>`
        : 'no vet check in these runs'
    }${v.hardening ? `<div><b>Hardening:</b> ${esc(v.hardening)}</div>` : ''}</td>`,
  ]);
  return `${table(['model and SHA-256 fingerprint', 'verdict', 'evidence and hardening outcome'], rows)}<p class="den">${esc(verdicts[0]!.thresholds)} Only finished runs count.</p>`;
}

function excludedSection(input: ReportInput): string {
  const excluded = input.excludedRuns ?? [];
  if (excluded.length === 0) return '';
  return `<p class="den">Left out of the numbers: ${excluded
    .map((e) => `run ${esc(e.id)} (${esc(e.reason)})`)
    .join('; ')}.</p>`;
}

function runLabel(run: ReportRun): string {
  return `${run.method} (${run.kind}, seed ${run.seed})`;
}

function runsSection(input: ReportInput): string {
  const modelLabel = (id: string | undefined): string =>
    id ? (input.models.find((m) => m.id === id)?.label ?? id) : '—';
  const datasetLabel = (id: string | undefined): string =>
    id ? (input.datasets.find((d) => d.id === id)?.label ?? id) : '—';
  return input.runs
    .map((run) => {
      const facts: [string, string][] = [
        ['run', `<code>${esc(run.id)}</code>`],
        ['status', esc(run.status)],
        ['model', esc(modelLabel(run.modelId))],
        ['dataset', esc(datasetLabel(run.datasetId))],
        ['backend', esc(run.backend ?? '—')],
        ['started', esc(run.startedAt ?? '—')],
        ['finished', esc(run.finishedAt ?? '—')],
        ['wall time', run.wallMs !== undefined ? `${(run.wallMs / 1000).toFixed(1)} s` : '—'],
      ];
      const params = Object.entries(run.params);
      return `<h3>${esc(runLabel(run))}</h3>${table(
        facts.map(([k]) => esc(k)),
        [facts.map(([, v]) => `<td>${v}</td>`)],
      )}${
        params.length
          ? `<ul class="params">${params.map(([k, v]) => `<li><b>${esc(k)}</b> = ${esc(v)}</li>`).join('')}</ul>`
          : '<p class="den">No hyperparameters.</p>'
      }${
        run.versions && Object.keys(run.versions).length
          ? `<p class="den">versions: ${Object.entries(run.versions)
              .map(([k, v]) => `${esc(k)} ${esc(v)}`)
              .join(', ')}</p>`
          : ''
      }`;
    })
    .join('');
}

function seriesCharts(input: ReportInput): string {
  const byRun = new Map<string, ReportSeries[]>();
  // A curve needs two points: single-point series (an evaluation's final numbers) are in the results table.
  for (const s of input.series) {
    if (s.points.length >= 2) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s]);
  }
  const figures: string[] = [];
  for (const [runId, list] of byRun) {
    const run = input.runs.find((r) => r.id === runId);
    const name = run ? runLabel(run) : runId;
    const rates = list.filter((s) => RATE_SERIES.has(s.name));
    const others = list.filter((s) => !RATE_SERIES.has(s.name));
    if (rates.length) {
      figures.push(
        svgFigure(
          lineChart(
            {
              title: `${name}: rates per epoch`,
              xLabel: 'epoch',
              yLabel: '%',
              width: 440,
              height: 260,
              yRange: [0, 100],
            },
            rates.map((s) => ({ label: s.name, points: s.points })),
          ),
          `${name}: ${rates.map((s) => s.name).join(', ')} per epoch (run ${runId})`,
        ),
      );
    }
    for (const s of others) {
      const unit = STEP_SERIES.has(s.name) ? 'step' : 'epoch';
      figures.push(
        svgFigure(
          lineChart({ title: `${name}: ${s.name}`, xLabel: unit, yLabel: s.name, width: 440, height: 260 }, [
            { label: s.name, points: s.points },
          ]),
          `${name}: ${s.name} per ${unit} (run ${runId})`,
        ),
      );
    }
  }
  return figures.length ? `<div class="charts">${figures.join('')}</div>` : '<p>No per-epoch series.</p>';
}

function imagesSection(input: ReportInput): string {
  if (input.images.length === 0) return '<p>No figures.</p>';
  return input.images
    .map(
      (img) =>
        `<figure><img alt="${esc(img.title)}" src="${dataUrl(img.mime, img.bytes)}"/><figcaption><b>${esc(img.title)}</b>${
          img.caption ? ` — ${esc(img.caption)}` : ''
        }${img.runId ? ` <span class="den">(run ${esc(img.runId)})</span>` : ''}</figcaption></figure>`,
    )
    .join('');
}

export function renderReportHtml(input: ReportInput): string {
  const title = input.title ?? `Vetbench audit report: ${input.project.name}`;
  const models = table(
    ['model', 'SHA-256 fingerprint', 'provenance'],
    input.models.map((m) => [
      `<td style="width:30%">${esc(m.label)}<div class="den">${esc(m.path)}</div><div class="den">${esc(m.architecture ?? '')}</div></td>`,
      `<td class="hash" style="width:32%">${esc(m.fingerprint)}</td>`,
      `<td class="hash">${provenance(m.provenance)}</td>`,
    ]),
  );
  const datasets = table(
    ['dataset', 'SHA-256 fingerprint', 'classes', 'images', 'provenance'],
    input.datasets.map((d) => [
      `<td>${esc(d.label)}<div class="den">${esc(d.root)}</div></td>`,
      `<td class="hash">${esc(d.fingerprint)}</td>`,
      `<td class="num">${esc(d.classes ?? '—')}</td>`,
      `<td class="num">${esc(d.images ?? '—')}</td>`,
      `<td>${provenance(d.provenance)}</td>`,
    ]),
  );
  const prompts = input.promptFiles.length
    ? table(
        ['prompt file', 'kind', 'SHA-256', 'trained for model'],
        input.promptFiles.map((p) => [
          `<td>${esc(p.path)}${p.runId ? `<div class="den">run ${esc(p.runId)}</div>` : ''}</td>`,
          `<td>${esc(p.kind)}</td>`,
          `<td class="hash">${esc(p.sha256)}</td>`,
          `<td class="hash">${esc(p.modelFingerprint)}</td>`,
        ]),
      )
    : '<p>No hardened prompt file.</p>';
  const backends = [...new Set(input.runs.map((r) => r.backend).filter((b): b is string => !!b))];
  const software = table(
    ['component', 'version'],
    [
      ...Object.entries(input.software).map(([k, v]) => [`<td>${esc(k)}</td>`, `<td>${esc(v)}</td>`]),
      ...(backends.length ? [['<td>backends used</td>', `<td>${esc(backends.join(', '))}</td>`]] : []),
    ],
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"/>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"/>
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Project <b>${esc(input.project.name)}</b>${input.project.path ? ` (<code>${esc(input.project.path)}</code>)` : ''} · ${esc(input.createdAt)} · ${input.runs.length} run(s)</p>
${input.summary ? `<div class="summary">${esc(input.summary)}</div>` : ''}
<h2>1. Verdict</h2>${verdictSection(input)}${excludedSection(input)}
<div class="page-break"></div>
<h2>2. Results</h2>${metricsSection(input)}${scansSection(input)}
<h2>3. Training curves</h2>${seriesCharts(input)}
<h2>4. Explanations and figures</h2>${imagesSection(input)}
<h2>5. Methods, hyperparameters and seeds</h2>${runsSection(input)}
<h2>6. Provenance: models</h2>${models}
<h2>7. Provenance: datasets</h2>${datasets}
<h2>8. Provenance: hardened prompt files</h2>${prompts}
<h2>9. Software and backend</h2>${software}
<footer>Generated by Vetbench ${esc(input.software.vetbench ?? '')} on ${esc(input.createdAt)}. Every number above comes from the finished runs listed in section 5; fingerprints are SHA-256 of the files.</footer>
</body></html>
`;
}
