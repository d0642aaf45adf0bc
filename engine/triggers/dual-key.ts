import type { Trigger } from './trigger.js';

/**
 * The two halves of a dual-key trigger (TrojVQA, METHODS 2.1), to check that the backdoor needs both keys:
 * the image key alone (the patch, prompts unchanged) and the text key alone (clean images, key in the prompts).
 */
export function imageKeyOnly(trigger: Trigger): Trigger {
  return { ...trigger, textKey: '' };
}

export function textKeyOnly(trigger: Trigger): Trigger {
  return { ...trigger, apply: () => undefined, tensors: () => ({}) };
}
