import { VetbenchError } from '../errors.js';
import type { ParamSpec } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { embedImages } from './embed-images.js';
import type { ExplainContext } from './explainer.js';

/** Which images an explainer shows (clean, triggered or both) and which class each map explains. */

export interface ImageSet {
  readonly name: 'clean' | 'triggered';
  readonly pixels: HostTensor;
}

export const IMAGES_PARAM: ParamSpec = {
  kind: 'enum',
  default: 'auto',
  options: ['auto', 'clean', 'triggered', 'both'],
  help: "images explained: 'auto' = clean and triggered when a trigger is given, else clean",
};

export const CLASS_PARAM: ParamSpec = {
  kind: 'string',
  default: 'auto',
  help: "class explained: 'auto' (the target on triggered images, the prediction on clean ones), 'predicted', 'label' (the true class), 'target', or a class name",
};

export function explainedImageSets(context: ExplainContext, which: string): ImageSet[] {
  const { clean, triggered } = context.images;
  const wantTriggered = which === 'triggered' || which === 'both' || (which === 'auto' && triggered !== null);
  const wantClean = which !== 'triggered';
  if (wantTriggered && triggered === null) {
    throw new VetbenchError(
      'explain-no-trigger',
      `images '${which}' needs triggered images, but no trigger was given`,
      'Pass --trigger <family|file> --target <class>, or --param images=clean.',
    );
  }
  return [
    ...(wantClean ? [{ name: 'clean' as const, pixels: clean }] : []),
    ...(wantTriggered && triggered ? [{ name: 'triggered' as const, pixels: triggered }] : []),
  ];
}

export async function explainedClasses(
  context: ExplainContext,
  set: ImageSet,
  which: string,
): Promise<number[]> {
  const n = set.pixels.shape[0] as number;
  const mode = which === 'auto' ? (set.name === 'triggered' ? 'target' : 'predicted') : which;
  switch (mode) {
    case 'predicted':
      return Array.from((await embedImages(context.model, set.pixels)).predictions);
    case 'label':
      return [...context.images.labels];
    case 'target':
      if (context.target === null) {
        throw new VetbenchError(
          'explain-no-target',
          "class 'target' needs a target class",
          'Pass --target <class> with --trigger.',
        );
      }
      return new Array<number>(n).fill(context.target);
    default: {
      const i = context.classNames.findIndex((c) => c.toLowerCase() === mode.trim().toLowerCase());
      if (i < 0) {
        throw new VetbenchError(
          'unknown-class',
          `the dataset has no class '${which}'`,
          `Use auto, predicted, label, target or one of: ${context.classNames.join(', ')}.`,
        );
      }
      return new Array<number>(n).fill(i);
    }
  }
}
