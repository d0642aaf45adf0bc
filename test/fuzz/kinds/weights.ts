import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipConfig } from '../../../engine/clip/config.js';
import { initClipWeights } from '../../../engine/clip/init-weights.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { encodeSafetensors } from '../../../engine/clip/safetensors.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import { Rng } from '../../../engine/util/rng.js';
import type { FuzzKind, Seed } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS } from '../harness/mutate.js';
import { joinSafetensors, SAFETENSORS_MUTATIONS } from '../harness/safetensors-edit.js';

/** The smallest CLIP the loader accepts (heads are inferred from widths of 64). */
export const TINY_CONFIG: ClipConfig = {
  embedDim: 8,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 8 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 64 },
};

export async function tinyWeightsFile(dir: string): Promise<string> {
  const path = join(dir, 'tiny.safetensors');
  await saveClipWeights(path, TINY_CONFIG, initClipWeights(TINY_CONFIG, new Rng(4)).tensors);
  return path;
}

const header = (entries: Record<string, unknown>): Uint8Array => joinSafetensors(entries, new Uint8Array(64));

/**
 * Weights (safetensors): loaded the way `--model` is (loadClipWeights: parse, names, config inference).
 * Safetensors has no integrity field, so an accepted mutant is judged for consistency: every tensor holds as
 * many values as its shape, and the fingerprint is that of the bytes given (a changed file is a different model).
 */
export const weightsKind: FuzzKind<ClipWeights> = {
  id: 'weights',
  fileName: 'model.safetensors',
  async seeds(dir) {
    return [{ name: 'tiny-clip', bytes: readFileSync(await tinyWeightsFile(dir)) }];
  },
  crafted(seeds) {
    const valid = seeds[0]!.bytes;
    const cases = [
      ['empty', new Uint8Array(0)],
      ['seven bytes', new Uint8Array(7)],
      [
        'header length 2^63',
        (() => {
          const b = valid.slice();
          new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
          return b;
        })(),
      ],
      ['header not json', joinSafetensors('x', new Uint8Array(0)).map((v, i) => (i === 8 ? 0x7b : v))],
      ['header array', joinSafetensors([], new Uint8Array(0))],
      ['negative shape', header({ w: { dtype: 'F32', shape: [-1, 4], data_offsets: [0, 16] } })],
      ['fractional shape', header({ w: { dtype: 'F32', shape: [2.5], data_offsets: [0, 10] } })],
      ['huge shape', header({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 64] } })],
      ['offsets past end', header({ w: { dtype: 'F32', shape: [1000], data_offsets: [0, 4000] } })],
      ['reversed offsets', header({ w: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } })],
      [
        'overlap',
        header({
          a: { dtype: 'F32', shape: [8], data_offsets: [0, 32] },
          b: { dtype: 'F32', shape: [8], data_offsets: [16, 48] },
        }),
      ],
      ['unknown dtype', header({ w: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } })],
      [
        'many empty tensors',
        header(
          Object.fromEntries(
            Array.from({ length: 5000 }, (_, i) => [
              `t${i}`,
              { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
            ]),
          ),
        ),
      ],
      ['no tensors', encodeSafetensors([], {})],
      ['npy instead', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0])],
      ['zip instead', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0])],
      ['pickle instead', Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e])],
      ['metadata not strings', header({ __metadata__: { format: 5 } })],
    ] as const;
    return cases.map(([name, bytes]) => ({ name, bytes: Uint8Array.from(bytes), expect: 'refuse' as const }));
  },
  mutations: [...BYTE_MUTATIONS, ...SAFETENSORS_MUTATIONS, ...SAFETENSORS_MUTATIONS],
  load: (path) => loadClipWeights(path),
  judge(weights: ClipWeights, input: Uint8Array, _seed: Seed<ClipWeights> | undefined) {
    for (const [name, t] of weights.tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (t.data.length !== count)
        return `tensor ${name} holds ${t.data.length} values for shape [${t.shape.join(', ')}]`;
    }
    // No integrity field in safetensors: a changed file must at least be a different model.
    if (weights.source.fingerprint !== createHash('sha256').update(input).digest('hex'))
      return 'the fingerprint is not the SHA-256 of the bytes read';
    return null;
  },
};
