import { createEncoder } from '../clip/clip-encoder.js';
import { perturbationResistivity, type PrBatch, type PrResult } from '../metrics/perturbation-resistivity.js';
import {
  standardPerturbations,
  triggerPerturbation,
} from '../metrics/perturbations/standard-perturbations.js';
import type { ParamSpecs } from '../methods/params.js';
import { lineChart, type LineSeries } from '../report/svg-chart.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ExplainContext, ExplainModel, ExplainResult, Explainer } from './explainer.js';

/** PR curves (METHODS 5): PR_d per block for each perturbation, one solid line set per model, others dashed. */

export interface LabelledPr {
  readonly label: string;
  readonly result: PrResult;
}

export function prCurvesSvg(
  results: readonly LabelledPr[],
  title = 'Perturbation resistivity per block',
): string {
  const series: LineSeries[] = results.flatMap((r, m) =>
    r.result.rows.map((row) => ({
      label: results.length > 1 ? `${r.label}: ${row.title}` : row.title,
      points: row.pr.map((v, d) => [d, v] as const),
      dashed: m > 0,
    })),
  );
  return lineChart(
    {
      title,
      xLabel: 'block d (0-based)',
      yLabel: 'PR_d = mean cos(CLS_d(x), CLS_d(x+δ))',
      width: 640,
      height: 360,
    },
    series,
  );
}

export async function modelPr(context: ExplainContext, model: ExplainModel): Promise<PrResult> {
  const encoder = await createEncoder(model.weights);
  const perturbations = [
    ...standardPerturbations(context.seed),
    ...(context.trigger ? [triggerPerturbation(context.trigger)] : []),
  ];
  const batch: PrBatch = { pixels01: context.images.clean, keys: context.images.keys };
  async function* one(): AsyncGenerator<PrBatch> {
    yield batch;
  }
  try {
    return await perturbationResistivity(encoder, one(), perturbations, { prompts: model.prompts });
  } finally {
    await encoder.dispose();
  }
}

function prTensor(result: PrResult): HostTensor {
  return {
    data: Float32Array.from(result.rows.flatMap((r) => r.pr)),
    shape: [result.rows.length, result.layers],
  };
}

const PARAMS: ParamSpecs = {};

export const prExplainer: Explainer = {
  id: 'pr',
  title: 'Perturbation resistivity curves',
  summary:
    'Per block, how close the class token stays under noise, blur, colour jitter, flip and the trigger; one curve set per model.',
  paper: 'RVPT (Repulsive Visual Prompt Tuning), perturbation resistivity; METHODS 2.3.',
  params: PARAMS,
  async run(context: ExplainContext): Promise<ExplainResult> {
    const results: LabelledPr[] = [];
    for (const model of [context.model, ...context.others]) {
      results.push({ label: model.label, result: await modelPr(context, model) });
    }
    const summary: Record<string, readonly number[] | number> = { images: context.images.labels.length };
    for (const r of results) {
      for (const row of r.result.rows)
        summary[`${r.label} ${row.id}`] = row.pr.map((v) => Number(v.toFixed(4)));
    }
    return {
      artifacts: [
        {
          name: 'pr-curves.svg',
          mime: 'image/svg+xml',
          bytes: new TextEncoder().encode(prCurvesSvg(results)),
        },
        {
          name: 'pr.json',
          mime: 'application/json',
          bytes: new TextEncoder().encode(JSON.stringify(results, null, 2)),
        },
      ],
      arrays: results.map((r) => ({
        name: `pr_${r.label.replace(/[^a-z0-9]+/gi, '-')}`,
        tensor: prTensor(r.result),
      })),
      summary,
    };
  },
};
