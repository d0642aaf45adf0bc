import { createEncoder, type ClipEncoder } from '../clip/clip-encoder.js';
import { getTensor, type ClipWeights } from '../clip/weights.js';
import { normalizePixels } from '../image/preprocess.js';
import type { ParamSpecs } from '../methods/params.js';
import { lineChart, type LineSeries } from '../report/svg-chart.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ExplainContext, ExplainModel, ExplainResult, Explainer } from './explainer.js';

/**
 * Logit lens for the image tower: the class token after each block, read out through the final `ln_post`
 * and projection as if the network ended there, and scored against the text head. CA per block (clean
 * images) and ASR per block (triggered images of non-target classes) show where in the network a trigger
 * takes over. The read-out after the last block is the model's own prediction, so the last point of each
 * curve equals the model's CA and ASR on these images.
 */
export interface LensCurve {
  readonly label: string;
  /** Index 0 is the embedding stem (before block 0); index d+1 is after block d. */
  readonly ca: readonly number[];
  readonly asr: readonly number[] | null;
  readonly nClean: number;
  readonly nTriggered: number;
}

/** Per-block predictions from per-layer class tokens [N, L+1, W]. */
export function lensPredictions(weights: ClipWeights, cls: HostTensor, head: HostTensor): number[][] {
  const [n, layers, width] = cls.shape as [number, number, number];
  const gamma = getTensor(weights, 'visual.ln_post.weight').data;
  const beta = getTensor(weights, 'visual.ln_post.bias').data;
  const proj = getTensor(weights, 'visual.proj');
  const embed = proj.shape[1] as number;
  const [classes] = head.shape as [number, number];
  const out: number[][] = Array.from({ length: layers }, () => new Array<number>(n).fill(0));
  const normed = new Float64Array(width);
  const e = new Float64Array(embed);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < layers; d++) {
      const o = (i * layers + d) * width;
      let mean = 0;
      for (let k = 0; k < width; k++) mean += cls.data[o + k] as number;
      mean /= width;
      let variance = 0;
      for (let k = 0; k < width; k++) variance += ((cls.data[o + k] as number) - mean) ** 2;
      const inv = 1 / Math.sqrt(variance / width + 1e-5);
      for (let k = 0; k < width; k++)
        normed[k] = ((cls.data[o + k] as number) - mean) * inv * (gamma[k] as number) + (beta[k] as number);
      e.fill(0);
      for (let k = 0; k < width; k++) {
        const v = normed[k] as number;
        for (let j = 0; j < embed; j++) e[j] = (e[j] as number) + v * (proj.data[k * embed + j] as number);
      }
      // The head's rows are unit vectors: the arg max of the dot product is that of the cosine.
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < classes; c++) {
        let s = 0;
        for (let j = 0; j < embed; j++) s += (e[j] as number) * (head.data[c * embed + j] as number);
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      (out[d] as number[])[i] = best;
    }
  }
  return out;
}

async function clsPerLayer(
  encoder: ClipEncoder,
  model: ExplainModel,
  pixels01: HostTensor,
): Promise<HostTensor> {
  const plane = (pixels01.shape[2] as number) * (pixels01.shape[3] as number);
  const pixels = { data: normalizePixels(pixels01.data, undefined, plane), shape: pixels01.shape };
  const result = await encoder.encode({
    pixels,
    ...(model.prompts ? { prompts: { depth: model.prompts.depth, tensors: model.prompts.tensors } } : {}),
    outputs: ['vision_cls_per_layer'],
  });
  return result.vision_cls_per_layer!;
}

export async function logitLens(context: ExplainContext, model: ExplainModel): Promise<LensCurve> {
  const encoder = await createEncoder(model.weights);
  try {
    const labels = context.images.labels;
    const clean = lensPredictions(
      model.weights,
      await clsPerLayer(encoder, model, context.images.clean),
      model.head.embeddings,
    );
    const ca = clean.map((preds) => preds.filter((p, i) => p === labels[i]).length / labels.length);
    let asr: number[] | null = null;
    let nTriggered = 0;
    if (context.images.triggered && context.target !== null) {
      const target = context.target;
      const triggered = lensPredictions(
        model.weights,
        await clsPerLayer(encoder, model, context.images.triggered),
        model.head.embeddings,
      );
      const counted = labels.map((l) => l !== target);
      nTriggered = counted.filter(Boolean).length;
      asr = triggered.map(
        (preds) => preds.filter((p, i) => counted[i] && p === target).length / Math.max(1, nTriggered),
      );
    }
    return { label: model.label, ca, asr, nClean: labels.length, nTriggered };
  } finally {
    await encoder.dispose();
  }
}

export function logitLensSvg(curves: readonly LensCurve[]): string {
  const series: LineSeries[] = curves.flatMap((c, m) => {
    const prefix = curves.length > 1 ? `${c.label}: ` : '';
    const rows: LineSeries[] = [
      {
        label: `${prefix}CA (n=${c.nClean})`,
        points: c.ca.map((v, d) => [d - 1, 100 * v] as const),
        dashed: m > 0,
      },
    ];
    if (c.asr)
      rows.push({
        label: `${prefix}ASR (n=${c.nTriggered})`,
        points: c.asr.map((v, d) => [d - 1, 100 * v] as const),
        dashed: m > 0,
      });
    return rows;
  });
  return lineChart(
    {
      title: 'Logit lens: the class token after each block, read out as the prediction',
      xLabel: 'block d (-1 = embedding stem)',
      yLabel: '% of images',
      width: 640,
      height: 360,
      yRange: [0, 100],
    },
    series,
  );
}

const PARAMS: ParamSpecs = {};

export const logitLensExplainer: Explainer = {
  id: 'logit-lens',
  title: 'Logit lens per block',
  summary:
    'CA and ASR of the class token read out after every block (final norm and projection applied early): where in the network the trigger takes over.',
  paper: 'nostalgebraist, "interpreting GPT: the logit lens" (2020), applied to the CLIP image tower.',
  params: PARAMS,
  async run(context: ExplainContext): Promise<ExplainResult> {
    const curves: LensCurve[] = [];
    for (const model of [context.model, ...context.others]) curves.push(await logitLens(context, model));
    const summary: Record<string, readonly number[] | number> = { images: context.images.labels.length };
    for (const c of curves) {
      summary[`${c.label} ca`] = c.ca.map((v) => Number((100 * v).toFixed(2)));
      if (c.asr) summary[`${c.label} asr`] = c.asr.map((v) => Number((100 * v).toFixed(2)));
    }
    const text = new TextEncoder();
    return {
      artifacts: [
        { name: 'logit-lens.svg', mime: 'image/svg+xml', bytes: text.encode(logitLensSvg(curves)) },
        {
          name: 'logit-lens.json',
          mime: 'application/json',
          bytes: text.encode(JSON.stringify(curves, null, 2)),
        },
      ],
      arrays: curves.map((c) => ({
        name: `lens_${c.label.replace(/[^a-z0-9]+/gi, '-')}`,
        tensor: {
          data: Float32Array.from([...c.ca, ...(c.asr ?? [])]),
          shape: [c.asr ? 2 : 1, c.ca.length],
        },
      })),
      summary,
    };
  },
};
