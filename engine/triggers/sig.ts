import { num, type ParamSpecs } from '../methods/params.js';
import { checkBatch, clamp01 } from './patch.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

const PARAMS: ParamSpecs = {
  amplitude: {
    kind: 'number',
    default: 60,
    min: 0,
    max: 255,
    unit: '/255',
    help: 'delta, the peak of the sine in 0..255 units (METHODS: 60)',
  },
  frequency: {
    kind: 'number',
    default: 6,
    min: 0,
    help: 'f, the number of sine periods across the image width (METHODS: 6)',
  },
};

/** The horizontal signal of SIG: (amplitude / 255) * sin(2 pi f j / W) for each column j of a W-wide image. */
export function sigSignal(amplitude: number, frequency: number, width: number): Float64Array {
  const delta = amplitude / 255;
  return Float64Array.from(
    { length: width },
    (_, j) => delta * Math.sin((2 * Math.PI * frequency * j) / width),
  );
}

/**
 * SIG (Barni et al.; METHODS 2.1): x' = clamp(x + (60/255) sin(2 pi 6 j / W), 0, 1), the same ramp on every row
 * and every channel. Nothing random, nothing to save: the parameters define it.
 */
export const sigTrigger: TriggerFamily = {
  id: 'sig',
  title: 'SIG sinusoidal signal',
  summary:
    'Adds a horizontal sine ramp (amplitude 60/255, 6 periods across the width) to every row, clamped.',
  paper:
    'Barni, Kallas, Tondi. A New Backdoor Attack in CNNs by Training Set Corruption Without Label Poisoning. ICIP 2019.',
  params: PARAMS,
  needsModel: false,
  create({ params, seed, resolution }): Trigger {
    const signal = sigSignal(num(params, 'amplitude'), num(params, 'frequency'), resolution);
    return {
      method: 'sig',
      params,
      seed,
      resolution,
      textKey: '',
      apply(pixels01: Float32Array, images: readonly TriggerImage[]): void {
        const rows = checkBatch('sig', pixels01, images, resolution) * 3 * resolution;
        for (let row = 0; row < rows; row++) {
          const base = row * resolution;
          for (let j = 0; j < resolution; j++) pixels01[base + j] = clamp01(pixels01[base + j]! + signal[j]!);
        }
      },
      tensors: () => ({}),
    };
  },
};
