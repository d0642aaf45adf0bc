// Project store benchmark: 1,000 runs x 500 metric points inserted, then a comparison of 100 runs queried
// (the table the comparison screen shows: params and final metrics per run, with "only differences").
// Usage: npm run bench:store   (or: npm run build && node bench/store-bench.js [--runs 1000] [--points 500] [--compare 100])
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { ProjectStore } from '../dist/electron/store/project-store.js';
import { buildComparison } from '../dist/electron/api/compare-runs.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const RUNS = arg('runs', 1000);
const POINTS = arg('points', 500);
const COMPARE = arg('compare', 100);
const SERIES = ['loss', 'ca', 'asr', 'asr_all', 'pa'];

const dir = mkdtempSync(join(tmpdir(), 'vetbench-store-bench-'));
const store = ProjectStore.open(join(dir, 'bench.vbproj'));
const model = store.insertModel({
  name: 'm',
  path: '/m.safetensors',
  fingerprint: 'f',
  fileBytes: 1,
  architecture: {
    description: 'bench',
    embedDim: 16,
    vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
    text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
    parameters: 1,
    dtypes: ['F32'],
    naming: 'openai',
  },
  warnings: [],
});
const dataset = store.insertDataset({
  name: 'd',
  root: '/d',
  fingerprint: 'g',
  layout: 'split-folders',
  classes: [],
  total: 0,
  counts: {},
  captions: 0,
  sampleImageIds: [],
  skipped: [],
  warnings: [],
});

// Points arrive as a job host writes them: per run, in batches (the host flushes every 200 ms), each batch one
// transaction; the run is created queued, marked running, and finished, as in a real job.
const BATCH = 50;
const t0 = performance.now();
let statusMs = 0; // run created, started, finished: committed with synchronous=FULL (fsync)
let pointsMs = 0; // metric batches: synchronous=NORMAL in WAL
const ids = [];
for (let r = 0; r < RUNS; r++) {
  let t = performance.now();
  const id = store.createRun({
    label: `run ${r}`,
    kind: 'attack',
    method: r % 2 ? 'badnet' : 'blended',
    modelId: model.id,
    datasetId: dataset.id,
    target: 'banana',
    trigger: null,
    promptsArtifactId: null,
    seed: r % 7,
    params: { epochs: 10, lr: r % 3 ? 5e-4 : 1e-4, poisonRate: 0.1, batchSize: 64 },
  });
  store.markRunning(id, { hostPid: process.pid, workerPid: null }, { vetbench: 'bench' }, 'onnx');
  statusMs += performance.now() - t;
  t = performance.now();
  const perSeries = POINTS / SERIES.length;
  let batch = [];
  for (let s = 0; s < SERIES.length; s++) {
    for (let step = 1; step <= perSeries; step++) {
      batch.push({ runId: id, series: SERIES[s], step, value: Math.sin(r + step + s) });
      if (batch.length === BATCH) {
        store.recordMetrics(batch);
        batch = [];
      }
    }
  }
  store.recordMetrics(batch);
  pointsMs += performance.now() - t;
  t = performance.now();
  store.finishRun(id, 'done', { attemptMs: 1, result: { r } });
  statusMs += performance.now() - t;
  ids.push(id);
}
const insertMs = performance.now() - t0;

// Comparison of COMPARE runs spread over the project: summaries with final metrics + params, then the table.
const picked = Array.from({ length: COMPARE }, (_, i) => ids[Math.floor((i * RUNS) / COMPARE)]);
const timings = [];
let table;
for (let rep = 0; rep < 5; rep++) {
  const t = performance.now();
  const runs = store.getRuns(picked);
  const params = picked.map((id) => store.runDetails(id).params);
  table = buildComparison(runs, params, { model: () => 'm', dataset: () => 'd' }, true, null);
  timings.push(performance.now() - t);
}
timings.sort((a, b) => a - b);
const t1 = performance.now();
const listed = store.listRuns({ limit: 100, offset: 0 });
const listMs = performance.now() - t1;
const t2 = performance.now();
const series = store.series(picked[0]);
const seriesMs = performance.now() - t2;

const points = RUNS * POINTS;
const bytes =
  statSync(store.path).size + (statSync(`${store.path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
store.close();
rmSync(dir, { recursive: true, force: true });
const result = {
  runs: RUNS,
  points_per_run: POINTS,
  metric_points: points,
  insert_ms: Math.round(insertMs),
  points_per_s: Math.round(points / (insertMs / 1000)),
  status_writes_ms: Math.round(statusMs),
  metric_batches_ms: Math.round(pointsMs),
  metric_points_per_s_batches_only: Math.round(points / (pointsMs / 1000)),
  load_average_at_end: os.loadavg().map((l) => +l.toFixed(1)),
  cpus: os.cpus().length,
  compare_runs: COMPARE,
  compare_ms_median: +timings[2].toFixed(1),
  compare_ms_min: +timings[0].toFixed(1),
  compare_rows: { params: table.params.length, metrics: table.metrics.length },
  list_runs_100_ms: +listMs.toFixed(1),
  one_run_series_ms: +seriesMs.toFixed(1),
  one_run_series_points: series.reduce((a, s) => a + s.points.length, 0),
  listed_total: listed.total,
  project_mib: +(bytes / 2 ** 20).toFixed(1),
};
console.log(JSON.stringify(result, null, 2));
