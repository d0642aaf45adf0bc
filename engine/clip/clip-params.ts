import type { HostTensor } from '../tensor/host-tensor.js';
import { PATCH_WEIGHT } from './clip-forward.js';
import { getTensor, type ClipWeights } from './weights.js';

/** The tensors a CLIP graph reads: the canonical weights plus the patch kernel flattened to [W, 3*p*p]. */
export function clipParamTensors(weights: ClipWeights): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>(weights.tensors);
  if (weights.config.vision.resnet) return out; // its conv1 is a 3x3 stem convolution, not a patch embedding
  const conv = getTensor(weights, 'visual.conv1.weight');
  const [w, c, p1, p2] = conv.shape as [number, number, number, number];
  out.set(PATCH_WEIGHT, { data: conv.data, shape: [w, c * p1 * p2] });
  return out;
}

/** Names of [out, in] weights used by linear layers (frozen ones get a cached transpose). */
export function isLinearWeight(name: string): boolean {
  return (
    name === PATCH_WEIGHT ||
    name.endsWith('attn.in_proj_weight') ||
    name.endsWith('attn.out_proj.weight') ||
    name.endsWith('mlp.c_fc.weight') ||
    name.endsWith('mlp.c_proj.weight')
  );
}
