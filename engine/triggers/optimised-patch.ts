import { VetbenchError } from '../errors.js';
import { num, str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { checkBatch, clamp01, pastePatch, patchPosition, restoredTensor, scaledPatchSize } from './patch.js';
import { Rng } from '../util/rng.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

/**
 * Optimised centre patches (METHODS 2.1): BadCLIP's dual-embedding patch and TrojVQA's image key. The patch
 * values are not drawn from the seed but optimised against a model (engine/attacks/patch-optimisation.ts), so
 * the family only re-creates a trigger from a saved `patch` tensor [3, s, s] (values in [0, 1]); asking for one
 * without it says how to make it.
 */
export const PATCH_SIZE_PARAM: ParamSpecs = {
  patchSize: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 224,
    unit: 'px at 224',
    help: 'side of the square centre patch at resolution 224; scaled to round(size * R / 224) (at least 1 px)',
  },
};

/** The centre placement of a `size` patch (METHODS: "pasted at the image centre"). */
export function centrePatchPosition(size: number, resolution: number): { top: number; left: number } {
  // 'center' needs no random draws; the Rng is never read.
  return patchPosition('center', size, resolution, new Rng(0));
}

/** Pastes clamp(patch) at the centre of every image of an [N, 3, R, R] batch, in place. */
export function pasteCentrePatch(
  method: string,
  pixels01: Float32Array,
  images: readonly TriggerImage[],
  resolution: number,
  patch: Float32Array,
  size: number,
): void {
  const count = checkBatch(method, pixels01, images, resolution);
  const { top, left } = centrePatchPosition(size, resolution);
  for (let n = 0; n < count; n++) pastePatch(pixels01, n, resolution, patch, size, top, left);
}

/** A patch trigger from optimised values (clamped to [0, 1] once, so the saved tensor is what is pasted). */
export function optimisedPatchTrigger(args: {
  method: string;
  params: ParamValues;
  seed: number;
  resolution: number;
  patch: Float32Array;
  textKey: string;
}): Trigger {
  const size = scaledPatchSize(num(args.params, 'patchSize'), args.resolution);
  if (args.patch.length !== 3 * size * size) {
    throw new RangeError(`${args.method}: ${args.patch.length} patch values for a 3x${size}x${size} patch`);
  }
  const patch = Float32Array.from(args.patch, clamp01);
  return {
    method: args.method,
    params: args.params,
    seed: args.seed,
    resolution: args.resolution,
    textKey: args.textKey,
    apply(pixels01, images) {
      pasteCentrePatch(args.method, pixels01, images, args.resolution, patch, size);
    },
    tensors: (): Readonly<Record<string, HostTensor>> => ({
      patch: hostTensor(patch.slice(), [3, size, size]),
    }),
  };
}

/** The saved patch of a re-loaded trigger, or an error that says which command makes one. */
function restoredPatch(
  method: string,
  restore: Readonly<Record<string, HostTensor>> | undefined,
  size: number,
): Float32Array {
  const saved = restoredTensor(method, restore, 'patch', [3, size, size]);
  if (!saved) {
    throw new VetbenchError(
      'trigger-needs-model',
      `${method}: this trigger is a patch optimised against a model, so it cannot be built from parameters alone`,
      `Run \`vetbench attack ${method} --model <weights> --dataset <root> --target <class> --out bd.safetensors\` and pass the trigger file it writes (bd.trigger.safetensors).`,
    );
  }
  if (!saved.data.every((v) => v >= 0 && v <= 1)) {
    throw new VetbenchError(
      'trigger-tensor-invalid',
      `${method}: the saved patch holds values outside [0, 1] (or not numbers)`,
      'The trigger file is damaged: create the trigger again.',
    );
  }
  return saved.data.slice();
}

/** BadCLIP dual-embedding (Liang et al. CVPR'24; METHODS 3.2): the optimised patch at the centre. */
export const badclipDeTrigger: TriggerFamily = {
  id: 'badclip-de',
  title: 'BadCLIP dual-embedding patch',
  summary:
    'A 16x16 patch at the image centre, optimised so patched images embed near the target text and target images (needs a model).',
  paper:
    'Liang, Zhu, Liang, Wu, Cao, Chang. BadCLIP: Dual-Embedding Guided Backdoor Attack on Multimodal Contrastive Learning. CVPR 2024.',
  params: PATCH_SIZE_PARAM,
  needsModel: true,
  create({ params, seed, resolution, restore }): Trigger {
    const size = scaledPatchSize(num(params, 'patchSize'), resolution);
    return optimisedPatchTrigger({
      method: 'badclip-de',
      params,
      seed,
      resolution,
      patch: restoredPatch('badclip-de', restore, size),
      textKey: '',
    });
  },
};

const TROJVQA_PARAMS: ParamSpecs = {
  ...PATCH_SIZE_PARAM,
  textKey: {
    kind: 'string',
    default: 'SUDO',
    help: 'the text key prefixed to every prompt (METHODS: "SUDO "); the backdoor needs it and the patch together',
  },
  guideText: {
    kind: 'string',
    default: 'This is a yellow banana.',
    help: 'the text the patch is optimised toward ({} is replaced by the target class name)',
  },
};

/** Checks a text key: one or more words, no surrounding spaces (prompts join it with a single space). */
export function checkTextKey(method: string, key: string): string {
  const trimmed = key.trim();
  if (trimmed === '') {
    throw new VetbenchError(
      'param-invalid',
      `${method}: parameter 'textKey' is empty`,
      'A dual-key trigger needs a text key, e.g. --param textKey=SUDO.',
    );
  }
  return trimmed;
}

/**
 * TrojVQA dual key (Walmer et al. CVPR'22; METHODS 2.1): an optimised centre patch (the image key) plus a text
 * key prefixed to the prompt; the backdoor is meant to open only with both.
 */
export const trojvqaTrigger: TriggerFamily = {
  id: 'trojvqa',
  title: 'TrojVQA dual key',
  summary:
    'A centre patch optimised toward "This is a yellow banana." plus the text key "SUDO" prefixed to prompts; needs both keys (needs a model).',
  paper:
    'Walmer, Sikka, Sur, Shrivastava, Jha. Dual-Key Multimodal Backdoors for Visual Question Answering. CVPR 2022.',
  params: TROJVQA_PARAMS,
  needsModel: true,
  create({ params, seed, resolution, restore }): Trigger {
    const size = scaledPatchSize(num(params, 'patchSize'), resolution);
    return optimisedPatchTrigger({
      method: 'trojvqa',
      params,
      seed,
      resolution,
      patch: restoredPatch('trojvqa', restore, size),
      textKey: checkTextKey('trojvqa', str(params, 'textKey')),
    });
  },
};
