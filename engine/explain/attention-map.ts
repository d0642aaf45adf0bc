import { requireViT } from '../clip/clip-forward.js';
import { gridSize } from '../clip/config.js';
import { str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { collectAttention } from './collect-attention.js';
import type { ExplainContext, ExplainResult, Explainer } from './explainer.js';
import { explainedImageSets, IMAGES_PARAM } from './explained-images.js';
import { overlayPanel } from './overlay.js';

/**
 * Class-token attention (METHODS 5): the last block's attention row of the class token, averaged over heads.
 * `rows` is that whole row [N, T] (it sums to 1 over every token, prompts included); `maps` keeps the patch
 * columns as [N, g, g].
 */
export function classTokenAttention(
  attention: HostTensor,
  grid: number,
): { rows: HostTensor; maps: HostTensor } {
  const [n, heads, tokens] = attention.shape as [number, number, number, number];
  const patches = grid * grid;
  const rows = new Float32Array(n * tokens);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < heads; h++) {
      const base = ((i * heads + h) * tokens + 0) * tokens; // row 0 = the class token's query
      for (let j = 0; j < tokens; j++) rows[i * tokens + j]! += attention.data[base + j]! / heads;
    }
  }
  const maps = new Float32Array(n * patches);
  for (let i = 0; i < n; i++) maps.set(rows.subarray(i * tokens + 1, i * tokens + 1 + patches), i * patches);
  return { rows: { data: rows, shape: [n, tokens] }, maps: { data: maps, shape: [n, grid, grid] } };
}

const PARAMS: ParamSpecs = { images: IMAGES_PARAM };

export const attentionExplainer: Explainer = {
  id: 'attention',
  title: 'Class-token attention (last block)',
  summary: 'How much the class token attends to each patch in the last block, averaged over heads.',
  paper: 'Dosovitskiy et al. An Image is Worth 16x16 Words. ICLR 2021 (attention maps, appendix D.7).',
  params: PARAMS,
  async run(context: ExplainContext, params: ParamValues): Promise<ExplainResult> {
    requireViT(context.model.weights.config, 'Attention maps');
    const grid = gridSize(context.model.weights.config.vision);
    const sets = explainedImageSets(context, str(params, 'images'));
    const outputs: { name: string; maps: HostTensor; rows: HostTensor }[] = [];
    for (const set of sets) {
      const attentions = await collectAttention(context.model, set.pixels);
      outputs.push({ name: set.name, ...classTokenAttention(attentions[attentions.length - 1]!, grid) });
    }
    return {
      artifacts: [
        {
          name: 'attention.png',
          mime: 'image/png',
          bytes: overlayPanel(
            sets.map((s) => s.pixels),
            outputs.map((o) => o.maps),
          ),
        },
      ],
      arrays: outputs.flatMap((o) => [
        { name: `attention_${o.name}`, tensor: o.maps },
        { name: `attention_${o.name}_row`, tensor: o.rows },
      ]),
      summary: { images: context.images.labels.length, sets: outputs.map((o) => o.name).join(', ') },
    };
  },
};
