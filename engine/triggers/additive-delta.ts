import { VetbenchError } from '../errors.js';
import { CLIP_STD } from '../image/preprocess.js';
import { num, type ParamSpecs } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { checkBatch, restoredTensor } from './patch.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

/**
 * BadCLIP's learned additive trigger (Bai et al. CVPR'24; METHODS 3.3). The paper adds delta_n to the
 * *normalised* image, |delta_n| <= (eps/255)/std_c per channel, eps = 4. Since (x - mean)/std + delta_n =
 * ((x + std * delta_n) - mean)/std, the same trigger in pixel space is delta = std_c * delta_n added to the [0, 1]
 * image *without clamping* (clamping would change it), |delta| <= eps/255: that is what is saved (`delta`
 * [3, R, R], pixel units) and applied, so it goes through the one pixel-space trigger pipeline (METHODS 1.3).
 */
export const DEFAULT_EPSILON = 4;

/** The per-channel bound of delta in normalised units: (eps/255) / std_c. */
export function normalisedDeltaBound(channel: number, epsilon = DEFAULT_EPSILON): number {
  return epsilon / 255 / CLIP_STD[channel]!;
}

/** Normalised-unit delta [3, R, R] -> pixel-space delta (times std_c). */
export function deltaToPixels(normalised: Float32Array, resolution: number): Float32Array {
  const plane = resolution * resolution;
  return Float32Array.from(normalised, (v, i) => v * CLIP_STD[Math.floor(i / plane)]!);
}

export const EPSILON_PARAM: ParamSpecs = {
  epsilon: {
    kind: 'number',
    default: DEFAULT_EPSILON,
    min: 0,
    max: 255,
    unit: '/255',
    help: 'largest |delta| per pixel and channel, in 1/255 of the pixel range (METHODS: 4)',
  },
};

export function additiveDeltaTrigger(args: {
  params: Trigger['params'];
  seed: number;
  resolution: number;
  delta: Float32Array;
}): Trigger {
  const { resolution, delta } = args;
  const size = 3 * resolution * resolution;
  return {
    method: 'badclip-prompt',
    params: args.params,
    seed: args.seed,
    resolution,
    textKey: '',
    apply(pixels01: Float32Array, images: readonly TriggerImage[]): void {
      const count = checkBatch('badclip-prompt', pixels01, images, resolution);
      for (let n = 0; n < count; n++) {
        const base = n * size;
        for (let i = 0; i < size; i++) pixels01[base + i] = pixels01[base + i]! + delta[i]!;
      }
    },
    tensors: (): Readonly<Record<string, HostTensor>> => ({
      delta: hostTensor(delta.slice(), [3, resolution, resolution]),
    }),
  };
}

export const badclipPromptTrigger: TriggerFamily = {
  id: 'badclip-prompt',
  title: 'BadCLIP learned additive trigger',
  summary:
    'An additive perturbation |delta| <= eps/255 (eps = 4; per pixel, pixel units, not clamped), learned together with a malicious CoCoOp prompt learner (needs a model).',
  paper:
    'Bai, Wang, Zhang, Wu, Xia. BadCLIP: Trigger-Aware Prompt Learning for Backdoor Attacks on CLIP. CVPR 2024.',
  params: EPSILON_PARAM,
  needsModel: true,
  create({ params, seed, resolution, restore }): Trigger {
    const bound = num(params, 'epsilon') / 255;
    // a small tolerance: float32 rounding of std * bound
    const limit = bound * (1 + 1e-5);
    const saved = restoredTensor('badclip-prompt', restore, 'delta', [3, resolution, resolution], {
      min: -limit,
      max: limit,
    });
    if (!saved) {
      throw new VetbenchError(
        'trigger-needs-model',
        'badclip-prompt: this trigger is learned together with a prompt learner, so it cannot be built from parameters alone',
        'Run `vetbench attack badclip-prompt --model <weights> --dataset <root> --target <class> --out prompts.safetensors` and pass the trigger file it writes (prompts.trigger.safetensors).',
      );
    }
    return additiveDeltaTrigger({ params, seed, resolution, delta: saved.data.slice() });
  },
};
