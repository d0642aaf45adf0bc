import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../tensor/host-tensor.js';
import { TfjsOps } from '../tensor/tfjs-ops.js';
import type { ClipGraph, ClipParams } from './clip-forward.js';
import { clipParamTensors, isLinearWeight } from './clip-params.js';
import type { ClipWeights } from './weights.js';

/** A CLIP resident in TF.js memory, frozen: forward passes and gradients w.r.t. inputs, prompts and context. */
export class TfjsClip {
  readonly ops = new TfjsOps();
  private readonly tensors = new Map<string, tf.Tensor>();
  readonly graph: ClipGraph<tf.Tensor>;

  constructor(readonly weights: ClipWeights) {
    for (const [name, t] of clipParamTensors(weights)) {
      const tensor = tf.keep(tf.tensor(t.data, [...t.shape], 'float32'));
      this.tensors.set(name, tensor);
      if (isLinearWeight(name)) this.ops.freezeLinearWeight(tensor);
    }
    const params: ClipParams<tf.Tensor> = {
      get: (name) => {
        const t = this.tensors.get(name);
        if (!t) throw new Error(`model has no parameter '${name}'`);
        return t;
      },
    };
    this.graph = { ops: this.ops, params, config: weights.config };
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
    this.ops.dispose();
  }
}

export function toTf(t: HostTensor): tf.Tensor {
  return tf.tensor(t.data, [...t.shape], 'float32');
}

export async function toHost(t: tf.Tensor): Promise<HostTensor> {
  const data = (await t.data()) as Float32Array;
  return { data: Float32Array.from(data), shape: [...t.shape] };
}
