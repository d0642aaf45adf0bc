import { UMAP } from 'umap-js';
import { num, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { scatterChart, type ScatterGroup } from '../report/svg-chart.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { Rng } from '../util/rng.js';
import { embedImages } from './embed-images.js';
import type { ExplainContext, ExplainModel, ExplainResult, Explainer } from './explainer.js';

/**
 * Embedding maps (METHODS 5): UMAP (umap-js, seeded) of the normalised image embeddings of clean and
 * triggered images, one map per model (e.g. backdoored and defended). Dots are clean images, crosses
 * triggered ones, coloured by true class. The number that goes with the picture: the share of triggered
 * non-target images whose nearest clean image (cosine, in the full embedding space) belongs to the target
 * class; the sample keeps the target class for that.
 */

function unitRows(t: HostTensor): number[][] {
  const [n, e] = t.shape as [number, number];
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(t.data.subarray(i * e, (i + 1) * e));
    const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0)) || 1;
    rows.push(row.map((v) => v / norm));
  }
  return rows;
}

/** For each query row, the label of its most similar reference row (rows are unit vectors). */
export function nearestLabels(
  queries: readonly number[][],
  references: readonly number[][],
  labels: readonly number[],
): number[] {
  return queries.map((q) => {
    let best = -Infinity;
    let label = -1;
    references.forEach((r, k) => {
      let dot = 0;
      for (let j = 0; j < q.length; j++) dot += q[j]! * r[j]!;
      if (dot > best) {
        best = dot;
        label = labels[k]!;
      }
    });
    return label;
  });
}

export interface ModelMap {
  readonly label: string;
  /** [N_clean + N_triggered, 2] */
  readonly coordinates: HostTensor;
  /** Share of triggered images whose nearest clean neighbour is of the target class (null without a trigger). */
  readonly nearTarget: number | null;
  readonly svg: string;
}

async function mapModel(
  context: ExplainContext,
  model: ExplainModel,
  neighbours: number,
  minDist: number,
): Promise<ModelMap> {
  const clean = unitRows((await embedImages(model, context.images.clean)).embeds);
  const triggered = context.images.triggered
    ? unitRows((await embedImages(model, context.images.triggered)).embeds)
    : [];
  const all = [...clean, ...triggered];
  const rng = new Rng(context.seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(neighbours, all.length - 1)),
    minDist,
    random: () => rng.uniform(),
  });
  const xy = umap.fit(all);
  const labels = context.images.labels;
  const nClean = clean.length;
  const groups: ScatterGroup[] = [];
  context.classNames.forEach((name, c) => {
    // clean rows come first in `xy`, then the triggered copies of the same images (same labels)
    const pick = (offset: number, count: number): [number, number][] => {
      const points: [number, number][] = [];
      for (let i = 0; i < count; i++)
        if (labels[i] === c) points.push([xy[offset + i]![0]!, xy[offset + i]![1]!]);
      return points;
    };
    const cleanPoints = pick(0, nClean);
    if (cleanPoints.length) groups.push({ label: name, points: cleanPoints, marker: 'dot', color: c });
    if (triggered.length) {
      const trig = pick(nClean, triggered.length);
      if (trig.length) groups.push({ label: `${name} + trigger`, points: trig, marker: 'cross', color: c });
    }
  });
  const target = context.target;
  // triggered images of the target class itself say nothing about the backdoor: count the others
  const nearest = triggered.length ? nearestLabels(triggered, clean, labels) : [];
  const counted = nearest.filter((_, i) => labels[i] !== target);
  const nearTarget =
    target !== null && counted.length ? counted.filter((y) => y === target).length / counted.length : null;
  const title =
    nearTarget === null
      ? `${model.label}: UMAP of image embeddings`
      : `${model.label}: ${(100 * nearTarget).toFixed(1)}% of triggered non-target images sit nearest '${context.classNames[target!]}'`;
  return {
    label: model.label,
    coordinates: { data: Float32Array.from(xy.flat()), shape: [all.length, 2] },
    nearTarget,
    svg: scatterChart({ title, xLabel: 'UMAP 1', yLabel: 'UMAP 2', width: 640, height: 420 }, groups, [
      ...context.classNames.flatMap((name, c) =>
        labels.includes(c) ? [{ label: name, marker: 'dot' as const, color: c }] : [],
      ),
      ...(triggered.length
        ? [{ label: 'dot: clean, cross: triggered', marker: 'cross' as const, color: 10 }]
        : []),
    ]),
  };
}

const PARAMS: ParamSpecs = {
  neighbors: { kind: 'integer', default: 15, min: 2, max: 200, help: 'UMAP neighbourhood size (nNeighbors)' },
  minDist: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    help: 'UMAP minimum distance between embedded points',
  },
};

export const embeddingMapExplainer: Explainer = {
  id: 'embedding-map',
  title: 'Embedding map (UMAP)',
  summary:
    'Clean vs triggered image embeddings in 2-D, one map per model: a backdoor pulls triggered images into the target cluster.',
  paper:
    'McInnes, Healy, Melville. UMAP: Uniform Manifold Approximation and Projection. arXiv:1802.03426, 2018.',
  params: PARAMS,
  keepsTargetClass: true,
  async run(context: ExplainContext, params: ParamValues): Promise<ExplainResult> {
    const models = [context.model, ...context.others];
    const maps: ModelMap[] = [];
    for (const [k, model] of models.entries()) {
      context.progress?.(k / models.length, `embedding map of ${model.label}`);
      maps.push(await mapModel(context, model, num(params, 'neighbors'), num(params, 'minDist')));
    }
    const slug = (s: string): string =>
      s
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'model';
    const summary: Record<string, number | string> = { images: context.images.labels.length };
    for (const m of maps) if (m.nearTarget !== null) summary[`near_target_${slug(m.label)}`] = m.nearTarget;
    return {
      artifacts: maps.map((m) => ({
        name: `embedding-map-${slug(m.label)}.svg`,
        mime: 'image/svg+xml' as const,
        bytes: new TextEncoder().encode(m.svg),
      })),
      arrays: maps.map((m) => ({ name: `umap_${slug(m.label)}`, tensor: m.coordinates })),
      summary,
    };
  },
};
