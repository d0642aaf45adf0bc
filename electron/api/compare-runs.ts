import type { Comparison, ComparisonRow, ParamValue, RunSummary, TriggerChoice } from './contract.js';

type Cell = ParamValue | null;

function row(key: string, values: Cell[]): ComparisonRow {
  const first = JSON.stringify(values[0] ?? null);
  return { key, values, differs: values.some((v) => JSON.stringify(v ?? null) !== first) };
}

/** What a run evaluated with besides its parameters: the trigger and the prompt file, as the table shows them. */
export interface RunInputs {
  readonly trigger: string | null;
  readonly prompts: string | null;
}

/** `badnet (patchSize=8)`, or the artifact a saved trigger came from. */
export function describeTrigger(
  choice: TriggerChoice | null,
  artifactName: (id: number) => string,
): string | null {
  if (!choice) return null;
  if (choice.source === 'artifact') return artifactName(choice.artifactId);
  const params = Object.entries(choice.params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
  return params ? `${choice.family} (${params})` : choice.family;
}

/**
 * The comparison table of runs: one row per setting (method, model, dataset, seed, target, trigger and prompt
 * file when `inputs` are given, each parameter)
 * and one per final metric, a column per run; `differs` marks rows whose values are not all equal.
 */
export function buildComparison(
  runs: readonly RunSummary[],
  params: readonly Readonly<Record<string, ParamValue>>[],
  names: { model(id: number): string; dataset(id: number): string },
  onlyDifferences: boolean,
  id: number | null,
  name: string | null = null,
  inputs: readonly RunInputs[] | null = null,
): Comparison {
  const paramKeys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.finalMetrics)))].sort();
  const settings = [
    row(
      'kind',
      runs.map((r) => r.kind),
    ),
    row(
      'method',
      runs.map((r) => r.method),
    ),
    row(
      'model',
      runs.map((r) => names.model(r.modelId)),
    ),
    row(
      'dataset',
      runs.map((r) => names.dataset(r.datasetId)),
    ),
    row(
      'seed',
      runs.map((r) => r.seed),
    ),
    row(
      'target',
      runs.map((r) => r.target),
    ),
    ...(inputs
      ? [
          row(
            'trigger',
            inputs.map((i) => i.trigger),
          ),
          row(
            'prompts',
            inputs.map((i) => i.prompts),
          ),
        ]
      : []),
    ...paramKeys.map((k) =>
      row(
        k,
        params.map((p) => p[k] ?? null),
      ),
    ),
  ];
  const metrics = metricKeys.map((k) =>
    row(
      k,
      runs.map((r) => r.finalMetrics[k] ?? null),
    ),
  );
  const keep = (r: ComparisonRow): boolean => !onlyDifferences || r.differs;
  return { id, name, runs: [...runs], params: settings.filter(keep), metrics: metrics.filter(keep) };
}
