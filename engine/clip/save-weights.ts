import type { HostTensor } from '../tensor/host-tensor.js';
import type { ClipConfig } from './config.js';
import { expectedOpenAiShapes } from './load-weights.js';
import { writeSafetensors, type SafetensorsWriteDtype } from './safetensors.js';

/**
 * Writes CLIP weights as safetensors with OpenAI names (atomically), with provenance in the metadata.
 * Every tensor the architecture needs must be present with its shape.
 */
export async function saveClipWeights(
  path: string,
  config: ClipConfig,
  tensors: ReadonlyMap<string, HostTensor>,
  options: { dtype?: SafetensorsWriteDtype; metadata?: Record<string, string> } = {},
): Promise<void> {
  const list = [];
  for (const [name, shape] of expectedOpenAiShapes(config)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`saveClipWeights: missing '${name}'`);
    if (t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(
        `saveClipWeights: '${name}' has ${t.data.length} values, shape [${shape}] needs more or fewer`,
      );
    }
    // logit_scale stays F32: in F16 its log would lose precision the logits feel.
    const dtype = name === 'logit_scale' ? 'F32' : (options.dtype ?? 'F32');
    list.push({ name, shape, data: t.data, dtype });
  }
  await writeSafetensors(path, list, { format: 'pt', naming: 'openai', ...(options.metadata ?? {}) });
}
