import type { HostTensor } from '../tensor/host-tensor.js';
import type { Rng } from '../util/rng.js';
import type { ClipConfig } from './config.js';
import { expectedOpenAiShapes } from './load-weights.js';
import type { ClipWeights } from './weights.js';

/**
 * A freshly initialised CLIP, with OpenAI CLIP's initialisation (model.py `initialize_parameters`): token
 * embedding std 0.02, positions 0.01, attention std W^-0.5, output projections std W^-0.5 (2L)^-0.5, MLP
 * std (2W)^-0.5, projections W^-0.5, LayerNorms 1/0, biases 0, logit scale ln(1/0.07).
 */
export function initClipWeights(config: ClipConfig, rng: Rng): ClipWeights {
  const shapes = expectedOpenAiShapes(config);
  const tensors = new Map<string, HostTensor>();
  const normal = (shape: readonly number[], std: number): HostTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    return { data, shape: [...shape] };
  };
  const fill = (shape: readonly number[], value: number): HostTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { data: new Float32Array(n).fill(value), shape: [...shape] };
  };
  for (const [name, shape] of shapes) {
    const tower = name.startsWith('visual.') ? config.vision : config.text;
    const w = tower.width;
    const attnStd = w ** -0.5;
    const projStd = w ** -0.5 * (2 * tower.layers) ** -0.5;
    const fcStd = (2 * w) ** -0.5;
    let t: HostTensor;
    if (name === 'logit_scale') t = fill([], Math.log(1 / 0.07));
    else if (/ln_[^.]*\.weight$|ln_(pre|post|final)\.weight$/.test(name)) t = fill(shape, 1);
    else if (name.endsWith('bias')) t = fill(shape, 0);
    else if (name === 'token_embedding.weight') t = normal(shape, 0.02);
    else if (name === 'positional_embedding') t = normal(shape, 0.01);
    else if (name === 'visual.class_embedding' || name === 'visual.positional_embedding')
      t = normal(shape, w ** -0.5);
    else if (name === 'visual.conv1.weight') t = normal(shape, (3 * config.vision.patchSize ** 2) ** -0.5);
    else if (name.endsWith('attn.in_proj_weight')) t = normal(shape, attnStd);
    else if (name.endsWith('attn.out_proj.weight') || name.endsWith('mlp.c_proj.weight'))
      t = normal(shape, projStd);
    else if (name.endsWith('mlp.c_fc.weight')) t = normal(shape, fcStd);
    else if (name === 'visual.proj' || name === 'text_projection') t = normal(shape, w ** -0.5);
    else throw new Error(`initClipWeights: no rule for '${name}'`);
    tensors.set(name, t);
  }
  return {
    config,
    tensors,
    logitScale: Math.log(1 / 0.07),
    source: {
      path: '(initialised in memory)',
      fingerprint: '',
      naming: 'openai',
      dtypes: ['F32'],
      fileBytes: 0,
      nonFiniteTensors: [],
      warnings: [],
    },
  };
}
