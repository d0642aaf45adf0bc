import { VetbenchError } from '../errors.js';
import { attentionExplainer } from './attention-map.js';
import { embeddingMapExplainer } from './embedding-map.js';
import type { Explainer } from './explainer.js';
import { gradCamExplainer } from './gradcam.js';
import { logitLensExplainer } from './logit-lens.js';
import { prExplainer } from './pr-curves.js';
import { rolloutExplainer } from './rollout.js';

/** Every explainer this build knows, in the order the CLI and the app list them. */
export const EXPLAINERS: readonly Explainer[] = [
  gradCamExplainer,
  attentionExplainer,
  rolloutExplainer,
  embeddingMapExplainer,
  prExplainer,
  logitLensExplainer,
];

export function findExplainer(id: string): Explainer {
  const found = EXPLAINERS.find((e) => e.id === id);
  if (!found) {
    throw new VetbenchError(
      'unknown-explainer',
      `unknown explanation '${id}'`,
      `Use one of: ${EXPLAINERS.map((e) => e.id).join(', ')}.`,
    );
  }
  return found;
}
