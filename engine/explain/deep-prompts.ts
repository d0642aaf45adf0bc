import type { ClipWeights } from '../clip/weights.js';
import { VetbenchError } from '../errors.js';
import { loadPromptFile } from '../prompts/prompt-file.js';
import type { DeepPromptTensors } from './explainer.js';

/**
 * Deep visual prompts from a hardened prompt file (METHODS 6) for the image tower; other kinds change only
 * the text side, which explanations of the image tower do not see, so they are refused with a reason.
 */
export async function loadDeepPrompts(
  path: string,
  weights: ClipWeights,
  options: { readonly force?: boolean; readonly warn?: (message: string) => void } = {},
): Promise<DeepPromptTensors> {
  const file = await loadPromptFile(path, {
    modelFingerprint: weights.source.fingerprint,
    config: weights.config,
    ...(options.force !== undefined ? { force: options.force } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  });
  const prompts = file.tensors.prompts;
  if (file.header.kind !== 'visual-deep' || prompts === undefined || file.header.depth === undefined) {
    throw new VetbenchError(
      'prompt-kind-unsupported',
      `${path} holds ${file.header.kind} prompts; this needs deep visual prompts (kind visual-deep, e.g. from RVPT)`,
      'Pass a prompt file written by `vetbench defend rvpt` (or vpt), or leave out --prompts.',
    );
  }
  return { depth: file.header.depth, tensors: prompts, fileSha256: file.fileSha256 };
}
