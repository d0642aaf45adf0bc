import { VetbenchError } from '../errors.js';
import { formatShape, type HostIntTensor, type HostTensor } from '../tensor/host-tensor.js';
import type { ClipConfig } from './config.js';

/** Checks of user-supplied arrays against a model, with errors that say which shape was expected. */

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) return i;
  return -1;
}

function requireFinite(t: HostTensor, what: string): void {
  const at = firstNonFinite(t.data);
  if (at >= 0) {
    throw new VetbenchError(
      'input-not-finite',
      `${what} holds NaN or Inf (first at flat index ${at})`,
      'Recompute the array; inputs must be finite numbers.',
    );
  }
}

export function checkPixels(pixels: HostTensor, config: ClipConfig): void {
  const r = config.vision.imageResolution;
  const [n, c, h, w] = pixels.shape;
  if (pixels.shape.length !== 4 || c !== 3 || h !== r || w !== r || !n) {
    throw new VetbenchError(
      'input-shape',
      `pixels have shape ${formatShape(pixels.shape)}; this model needs [N, 3, ${r}, ${r}]`,
      `Pre-process images to ${r}x${r} (resize, centre crop, normalise) and save them as float32 [N, 3, ${r}, ${r}].`,
    );
  }
  requireFinite(pixels, 'pixels');
}

export function checkTokenIds(ids: HostIntTensor, config: ClipConfig): void {
  const { contextLength, vocabSize } = config.text;
  if (ids.shape.length !== 2 || ids.shape[1] !== contextLength || !ids.shape[0]) {
    throw new VetbenchError(
      'input-shape',
      `token ids have shape ${formatShape(ids.shape)}; this model needs [T, ${contextLength}]`,
      `Tokenize with \`vetbench tokenize\` and pad each row with zeros to ${contextLength}.`,
    );
  }
  for (let i = 0; i < ids.data.length; i++) {
    const v = ids.data[i] as number;
    if (v < 0 || v >= vocabSize) {
      throw new VetbenchError(
        'input-token-range',
        `token id ${v} at row ${Math.floor(i / contextLength)} is outside this model's vocabulary (0..${vocabSize - 1})`,
        'Use ids from the CLIP tokenizer of this model.',
      );
    }
  }
}

export function checkVisualPrompts(prompts: HostTensor, depth: number, config: ClipConfig): void {
  const { layers, width } = config.vision;
  if (!Number.isInteger(depth) || depth < 0 || depth >= layers) {
    throw new VetbenchError(
      'prompt-depth',
      `prompt depth ${depth} is outside 0..${layers - 1} for this ${layers}-block image tower`,
      'Pass --prompt-depth D with the first prompted block (0-based).',
    );
  }
  const [blocks, length, w] = prompts.shape;
  if (prompts.shape.length !== 3 || blocks !== layers - depth || w !== width || !length) {
    throw new VetbenchError(
      'input-shape',
      `visual prompts have shape ${formatShape(prompts.shape)}; depth ${depth} on this model needs [${layers - depth}, b, ${width}]`,
      'Prompts hold one [b, W] tensor for each block from the prompt depth to the last.',
    );
  }
  requireFinite(prompts, 'visual prompts');
}
