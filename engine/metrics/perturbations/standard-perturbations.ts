import type { Trigger } from '../../triggers/trigger.js';
import { colorJitter } from './color-jitter.js';
import { gaussianBlur } from './gaussian-blur.js';
import { gaussianNoise } from './gaussian-noise.js';
import { horizontalFlip } from './horizontal-flip.js';
import type { Perturbation } from './perturbation.js';

/** The perturbations METHODS 2.3 lists, with its settings; seeded ones use `seed`. */
export function standardPerturbations(seed: number): Perturbation[] {
  return [gaussianNoise(0.001, seed), gaussianBlur(3, 5), colorJitter(0.5, 0.3, seed), horizontalFlip];
}

/** A trigger as a perturbation (PR under the trigger). */
export function triggerPerturbation(trigger: Trigger): Perturbation {
  return {
    id: `trigger:${trigger.method}`,
    title: `Trigger ${trigger.method}`,
    apply: (pixels01, keys) =>
      trigger.apply(
        pixels01,
        keys.map((key) => ({ key })),
      ),
  };
}
