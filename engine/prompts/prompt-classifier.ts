import type { ClipEncoder } from '../clip/clip-encoder.js';
import { VetbenchError } from '../errors.js';
import { contextClassifier, zeroShotClassifier, type ImageClassifier } from '../eval/image-classifier.js';
import { cocoopClassifier } from './cocoop-classifier.js';
import type { PromptFile } from './prompt-file.js';

/**
 * The classifier a prompt file defines on top of its model. The file's class list must be the dataset's
 * (same names, same order): prompts were tuned for that head, and a silent re-mapping would fake the numbers.
 */
export function promptFileClassifier(
  encoder: ClipEncoder,
  file: PromptFile,
  datasetClasses: readonly string[],
): ImageClassifier {
  const names = file.header.classNames;
  const same = names.length === datasetClasses.length && names.every((n, i) => n === datasetClasses[i]);
  if (!same) {
    const missing = datasetClasses.filter((c) => !names.includes(c));
    throw new VetbenchError(
      'prompt-file-classes',
      `${file.path} was made for classes [${names.join(', ')}], the dataset has [${datasetClasses.join(', ')}]` +
        (missing.length ? ` (unknown to the file: ${missing.join(', ')})` : ' (different order)'),
      'Evaluate the prompt file on the dataset (class list) it was tuned for.',
    );
  }
  const label = `${file.header.kind} prompts from ${file.path}`;
  switch (file.header.kind) {
    case 'visual-deep':
      return zeroShotClassifier(encoder, names, {
        templates: file.header.templates,
        imagePrompts: { depth: file.header.depth!, tensors: file.tensors.prompts! },
        description: label,
      });
    case 'text-context':
    case 'class-wise':
      return contextClassifier(encoder, names, file.tensors.context!, label);
    case 'cocoop':
      return cocoopClassifier(encoder, names, file.tensors, label);
  }
}
