import { requireViT } from '../clip/clip-forward.js';
import { gridSize } from '../clip/config.js';
import { num, str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { collectAttention } from './collect-attention.js';
import type { ExplainContext, ExplainResult, Explainer } from './explainer.js';
import { explainedImageSets, IMAGES_PARAM } from './explained-images.js';
import { overlayPanel } from './overlay.js';

/**
 * Attention rollout (Abnar & Zuidema 2020): per block, the head-averaged attention plus the identity for the
 * residual path, rows renormalised, multiplied from the first block to the last. Only the class and patch
 * tokens take part [choice: deep prompts are replaced before every block, so no path runs through them; their
 * columns are dropped and rows renormalised]. Returns R [N, T0, T0] with T0 = 1 + g^2 (row-stochastic) and
 * the class-token row over the patches as [N, g, g].
 */
export function attentionRollout(
  attentions: readonly HostTensor[],
  grid: number,
  residualWeight = 0.5,
): { rollout: HostTensor; maps: HostTensor } {
  const n = attentions[0]!.shape[0] as number;
  const t0 = 1 + grid * grid;
  const rollout = new Float32Array(n * t0 * t0);
  for (let i = 0; i < n; i++) {
    let r = new Float64Array(t0 * t0);
    for (let a = 0; a < t0; a++) r[a * t0 + a] = 1;
    for (const att of attentions) {
      const [, heads, tokens] = att.shape as [number, number, number, number];
      const step = new Float64Array(t0 * t0);
      for (let a = 0; a < t0; a++) {
        let rowSum = 0;
        for (let h = 0; h < heads; h++) {
          const base = ((i * heads + h) * tokens + a) * tokens;
          for (let b = 0; b < t0; b++) step[a * t0 + b]! += att.data[base + b]! / heads;
        }
        for (let b = 0; b < t0; b++) rowSum += step[a * t0 + b]!;
        for (let b = 0; b < t0; b++) {
          const mixed = (1 - residualWeight) * (step[a * t0 + b]! / rowSum) + (a === b ? residualWeight : 0);
          step[a * t0 + b] = mixed;
        }
      }
      // the new block acts after the previous ones: R <- step @ R
      const next = new Float64Array(t0 * t0);
      for (let a = 0; a < t0; a++) {
        for (let k = 0; k < t0; k++) {
          const s = step[a * t0 + k]!;
          if (s === 0) continue;
          for (let b = 0; b < t0; b++) next[a * t0 + b]! += s * r[k * t0 + b]!;
        }
      }
      r = next;
    }
    for (let j = 0; j < t0 * t0; j++) rollout[i * t0 * t0 + j] = r[j]!;
  }
  const patches = grid * grid;
  const maps = new Float32Array(n * patches);
  for (let i = 0; i < n; i++) maps.set(rollout.subarray(i * t0 * t0 + 1, i * t0 * t0 + t0), i * patches);
  return { rollout: { data: rollout, shape: [n, t0, t0] }, maps: { data: maps, shape: [n, grid, grid] } };
}

const PARAMS: ParamSpecs = {
  residualWeight: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    help: 'weight of the identity (residual path) mixed into each block’s head-averaged attention',
  },
  images: IMAGES_PARAM,
};

export const rolloutExplainer: Explainer = {
  id: 'rollout',
  title: 'Attention rollout',
  summary:
    'Attention propagated through all blocks (with the residual path) from the class token to each patch.',
  paper: 'Abnar, Zuidema. Quantifying Attention Flow in Transformers. ACL 2020.',
  params: PARAMS,
  async run(context: ExplainContext, params: ParamValues): Promise<ExplainResult> {
    requireViT(context.model.weights.config, 'Attention rollout');
    const grid = gridSize(context.model.weights.config.vision);
    const residual = num(params, 'residualWeight');
    const sets = explainedImageSets(context, str(params, 'images'));
    const outputs: { name: string; maps: HostTensor }[] = [];
    for (const set of sets) {
      const { maps } = attentionRollout(await collectAttention(context.model, set.pixels), grid, residual);
      outputs.push({ name: set.name, maps });
    }
    return {
      artifacts: [
        {
          name: 'rollout.png',
          mime: 'image/png',
          bytes: overlayPanel(
            sets.map((s) => s.pixels),
            outputs.map((o) => o.maps),
          ),
        },
      ],
      arrays: outputs.map((o) => ({ name: `rollout_${o.name}`, tensor: o.maps })),
      summary: { images: context.images.labels.length, residualWeight: residual },
    };
  },
};
