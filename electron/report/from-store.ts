import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { VetbenchError } from '../../engine/errors.js';
import { loadPromptFile } from '../../engine/prompts/prompt-file.js';
import type {
  MetricName,
  ReportImage,
  ReportInput,
  ReportExcludedRun,
  ReportMetricRow,
  ReportPromptFile,
  ReportSeries,
  ReportVerdict,
} from '../../engine/report/report-input.js';
import { softwareVersions } from '../../engine/report/software-versions.js';
import { describeTrigger } from '../api/compare-runs.js';
import type { ModelDossier, RunStatus, RunSummary } from '../api/contract.js';
import type { ProjectStore } from '../store/project-store.js';
import { modelDossiers } from './model-dossier.js';
import { scanSummaryOf } from './scan-summary.js';

/** Store series names (any case) that are report metrics. */
const METRIC_OF: Readonly<Record<string, MetricName>> = {
  ca: 'CA',
  asr: 'ASR',
  asr_all: 'asr_all',
  pa: 'PA',
  der: 'DER',
};

const VERDICT_WORDS: Readonly<Record<ModelDossier['verdict'], string>> = {
  'not-vetted': 'not vetted',
  'no-evidence': 'no evidence',
  'backdoor-suspected': 'backdoor suspected',
  hardened: 'hardened',
};

/** A model's dossier in the report's words (page 1). */
export function reportVerdictOf(d: ModelDossier): ReportVerdict {
  const t = d.thresholds;
  return {
    modelId: String(d.modelId),
    model: d.modelName,
    fingerprint: d.fingerprint,
    verdict: VERDICT_WORDS[d.verdict],
    ...(d.flaggedClass ? { flaggedClass: d.flaggedClass } : {}),
    headline: d.headline,
    evidence: d.evidence.map((e) => ({ text: e.text, flagged: e.flagged, runId: String(e.runId) })),
    ...(d.hardening ? { hardening: d.hardening.text } : {}),
    thresholds: `A known trigger flags its target at ASR ≥ ${t.suspectAsr}%; hardening removes the backdoor when ASR falls below ${t.hardenedAsr}% with at most ${t.maxCaDrop} points of clean accuracy (CA) lost.`,
  };
}

const EXCLUSION_REASON: Readonly<Record<RunStatus, string>> = {
  queued: 'not started yet',
  running: 'still running: its numbers are not final',
  done: '',
  failed: 'failed: no final numbers',
  cancelled: 'cancelled: its numbers are from mid-training',
  interrupted: 'interrupted: its numbers are from mid-training (resume it to finish)',
};

/** Images behind CA and ASR, from an evaluation's result (or a defense's "after" measurement). */
function denominatorsOf(
  result: Readonly<Record<string, unknown>> | null,
): Partial<Record<MetricName, number>> | null {
  if (!result) return null;
  const source = (
    typeof result['after'] === 'object' && result['after'] !== null ? result['after'] : result
  ) as Record<string, unknown>;
  const out: Partial<Record<MetricName, number>> = {};
  if (typeof source['n_clean'] === 'number') out.CA = source['n_clean'];
  if (typeof source['n_poisoned'] === 'number') out.ASR = source['n_poisoned'];
  return Object.keys(out).length ? out : null;
}

function iso(ms: number | null): string | undefined {
  return ms === null ? undefined : new Date(ms).toISOString();
}

/** `all` or a comma/space separated list of run ids. */
export function parseRunIds(spec: string, store: ProjectStore): number[] {
  if (spec.trim() === 'all') {
    return store
      .listRuns({ limit: 100_000, offset: 0 })
      .runs.map((r) => r.id)
      .sort((a, b) => a - b);
  }
  const ids = spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new VetbenchError(
      'bad-option',
      `--runs must be 'all' or run ids like 3,4,7, got '${spec}'`,
      'List runs with `vetbench runs`.',
    );
  }
  return ids;
}

/**
 * A ReportInput from the project store: the runs asked for, their models and datasets, final metrics grouped
 * over seeds (same kind, method, model, dataset, target and parameters), per-epoch series, image artifacts
 * and prompt files.
 */
export async function reportInputFromStore(
  store: ProjectStore,
  runIds: readonly number[],
): Promise<ReportInput> {
  const info = store.info();
  const asked = store.getRuns(runIds);
  // Only finished runs carry numbers: a cancelled or interrupted training's CA/ASR are mid-training values
  // and a running run's change under the reader, so they are listed with the reason instead of averaged.
  const runs = asked.filter((r) => r.status === 'done');
  const excludedRuns: ReportExcludedRun[] = asked
    .filter((r) => r.status !== 'done')
    .map((r) => ({ id: String(r.id), status: r.status, reason: EXCLUSION_REASON[r.status] }));
  const details = new Map(runs.map((r) => [r.id, store.runDetails(r.id)]));
  const modelIds = [...new Set(runs.map((r) => r.modelId))];
  const datasetIds = [...new Set(runs.map((r) => r.datasetId))];
  const models = modelIds.map((id) => store.getModel(id));
  const datasets = datasetIds.map((id) => store.getDataset(id));
  const artifactName = (id: number): string => {
    const a = store.getArtifact(id);
    return `${a.name}${a.runId === null ? '' : ` of run ${a.runId}`} (SHA-256 ${a.sha256.slice(0, 12)}…)`;
  };

  const groups = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const d = details.get(r.id)!;
    // Runs are seeds of one setting only if everything but the seed is equal, the prompt file included
    // (an eval with hardened prompts is another setting than the same eval without them).
    const key = JSON.stringify([
      r.kind,
      r.method,
      r.modelId,
      r.datasetId,
      r.target,
      d.trigger,
      d.promptsArtifactId,
      d.params,
    ]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const metrics: ReportMetricRow[] = [];
  for (const group of groups.values()) {
    const values: Partial<Record<MetricName, number[]>> = {};
    for (const r of group) {
      for (const [series, value] of Object.entries(r.finalMetrics)) {
        const name = METRIC_OF[series.toLowerCase()];
        if (name) (values[name] ??= []).push(value);
      }
    }
    if (Object.keys(values).length === 0) continue;
    const first = group[0]!;
    const model = models.find((m) => m.id === first.modelId);
    const d = details.get(first.id)!;
    const trigger = describeTrigger(d.trigger, artifactName);
    const denominators = denominatorsOf(d.result);
    metrics.push({
      label: `${first.method} (${first.kind}) on ${model?.name ?? `model ${first.modelId}`}${trigger ? `, trigger ${trigger}` : ''}${first.target ? `, target ${first.target}` : ''}${d.promptsArtifactId !== null ? `, with prompt file ${artifactName(d.promptsArtifactId)}` : ''}`,
      runIds: group.map((r) => String(r.id)),
      seeds: group.map((r) => r.seed),
      values,
      ...(denominators ? { denominators } : {}),
    });
  }

  const scans = runs
    .filter((r) => r.kind === 'scan')
    .map((r) => scanSummaryOf(r, details.get(r.id)!.result))
    .filter((s) => s !== null);

  const series: ReportSeries[] = runs.flatMap((r) =>
    store.series(r.id).map((s) => ({
      runId: String(r.id),
      name: s.name,
      points: s.points.map((p) => [p.step, p.value] as const),
    })),
  );

  const images: ReportImage[] = [];
  const promptFiles: ReportPromptFile[] = [];
  for (const r of runs) {
    for (const a of store.listArtifacts(r.id)) {
      const path = store.getArtifact(a.id).path;
      if (a.kind === 'image' && (a.mediaType === 'image/png' || a.mediaType === 'image/svg+xml')) {
        images.push({
          title: `${r.method}: ${a.name}`,
          caption: `${r.label}, seed ${r.seed}`,
          runId: String(r.id),
          mime: a.mediaType,
          bytes: new Uint8Array(await readFile(path)),
        });
      } else if (a.kind === 'prompt') {
        let kind = 'unknown';
        let modelFingerprint = 'unknown';
        try {
          const file = await loadPromptFile(path, { force: true });
          kind = file.header.kind;
          modelFingerprint = file.header.modelFingerprint;
        } catch {
          // the hash below is still what the report cites; an unreadable header is shown as unknown
        }
        promptFiles.push({
          path: basename(path),
          sha256: a.sha256,
          kind,
          modelFingerprint,
          runId: String(r.id),
        });
      }
    }
  }

  const software = softwareVersions();
  for (const d of details.values()) for (const [k, v] of Object.entries(d.versions)) software[k] ??= v;

  return {
    project: { name: info.name, path: info.path },
    createdAt: new Date().toISOString(),
    models: models.map((m) => ({
      id: String(m.id),
      label: m.name,
      path: m.path,
      fingerprint: m.fingerprint,
      architecture: m.architecture.description,
      provenance: (m.sourceRunId !== null
        ? { 'made by run': m.sourceRunId }
        : {
            source: 'imported file',
            ...(m.architecture.fileScan ? { 'file scan': m.architecture.fileScan.summary } : {}),
          }) as Record<string, string | number>,
    })),
    datasets: datasets.map((d) => ({
      id: String(d.id),
      label: d.name,
      root: d.root,
      fingerprint: d.fingerprint,
      classes: d.classes.length,
      images: d.total,
    })),
    runs: runs.map((r) => {
      const d = details.get(r.id)!;
      const started = iso(r.startedAt);
      const finished = iso(r.finishedAt);
      return {
        id: String(r.id),
        method: r.method,
        kind: r.kind,
        params: {
          ...d.params,
          ...(r.target ? { target: r.target } : {}),
          ...(d.trigger ? { trigger: describeTrigger(d.trigger, artifactName)! } : {}),
          ...(d.promptsArtifactId !== null ? { 'prompt file': artifactName(d.promptsArtifactId) } : {}),
        },
        seed: r.seed,
        status: r.status,
        modelId: String(r.modelId),
        datasetId: String(r.datasetId),
        ...(d.executor ? { backend: d.executor } : {}),
        versions: d.versions,
        ...(started ? { startedAt: started } : {}),
        ...(finished ? { finishedAt: finished } : {}),
        wallMs: r.runMs,
      };
    }),
    metrics,
    scans,
    verdicts: modelDossiers(
      store,
      runs.map((r) => r.id),
    ).map(reportVerdictOf),
    excludedRuns,
    series,
    images,
    promptFiles,
    software,
  };
}
