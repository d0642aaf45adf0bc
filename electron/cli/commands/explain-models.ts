import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { buildZeroShotHead, DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import { loadDeepPrompts } from '../../../engine/explain/deep-prompts.js';
import type { ExplainModel } from '../../../engine/explain/explainer.js';

/** A model for explain/pr: weights (path or `demo`), the zero-shot head, and optional deep visual prompts. */
export async function loadExplainModel(args: {
  readonly model: string | ClipWeights;
  readonly prompts?: string | undefined;
  readonly force?: boolean | undefined;
  readonly label: string;
  readonly classNames: readonly string[];
  readonly templates?: readonly string[] | undefined;
}): Promise<ExplainModel> {
  const weights =
    typeof args.model === 'string' ? await loadClipWeights(resolveModelPath(args.model)) : args.model;
  if (typeof args.model === 'string') for (const w of weights.source.warnings) console.error(`warning: ${w}`);
  const encoder = await createEncoder(weights);
  const head = await buildZeroShotHead(encoder, args.classNames, args.templates ?? [DEFAULT_TEMPLATE]);
  await encoder.dispose();
  const prompts = args.prompts
    ? await loadDeepPrompts(args.prompts, weights, {
        force: args.force === true,
        warn: (m) => console.error(`warning: ${m}`),
      })
    : null;
  return { label: args.label, weights, head, prompts };
}
