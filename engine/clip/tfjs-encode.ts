import * as tf from '@tensorflow/tfjs';
import { encodeProgram } from './encode-program.js';
import type { EncodeRequest, EncodeResult } from './encode-request.js';
import { toHost, toTf, type TfjsClip } from './tfjs-clip.js';

/** Answers an encode request eagerly on TF.js; every intermediate tensor is released. */
export async function encodeWithTfjs(model: TfjsClip, request: EncodeRequest): Promise<EncodeResult> {
  const outputs = tf.tidy(() => {
    const pixels = request.pixels ? toTf(request.pixels) : undefined;
    const prompts = request.prompts
      ? { depth: request.prompts.depth, tensors: toTf(request.prompts.tensors) }
      : undefined;
    const context = request.context ? toTf(request.context) : undefined;
    return encodeProgram(
      model.graph,
      {
        ...(pixels ? { pixels } : {}),
        ...(prompts ? { prompts } : {}),
        ...(request.text ? { text: request.text } : {}),
        ...(context ? { context } : {}),
      },
      model.weights.logitScale,
      new Set(request.outputs),
    );
  });
  const result: EncodeResult = {};
  for (const [name, t] of Object.entries(outputs) as [keyof EncodeResult, tf.Tensor][]) {
    result[name] = await toHost(t);
    t.dispose();
  }
  return result;
}
