import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VetbenchError } from '../errors.js';
import { projectRoot } from '../paths.js';

/** Built-in model names usable wherever a weights path is expected. */
export const BUILT_IN_MODELS = { demo: 'models/demo/clip-demo-tiny.safetensors' } as const;

/** `demo` -> the shipped tiny CLIP; anything else is a path. */
export function resolveModelPath(nameOrPath: string): string {
  if (nameOrPath === 'demo') {
    const path = join(projectRoot(), BUILT_IN_MODELS.demo);
    if (!existsSync(path)) {
      throw new VetbenchError(
        'demo-model-missing',
        `the built-in demo model is missing (${path})`,
        'Reinstall Vetbench, or retrain it with the command in models/demo/MODEL-CARD.md.',
      );
    }
    return path;
  }
  return nameOrPath;
}
