import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { encodeSafetensors } from '../../../engine/clip/safetensors.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { TRIGGER_FAMILIES } from '../../../engine/methods/registry.js';
import type { HostTensor } from '../../../engine/tensor/host-tensor.js';
import { loadTrigger, saveTrigger } from '../../../engine/triggers/trigger-file.js';
import type { Trigger } from '../../../engine/triggers/trigger.js';
import type { FuzzKind } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS } from '../harness/mutate.js';
import { sameBytes } from '../harness/run-fuzz.js';
import { SAFETENSORS_MUTATIONS } from '../harness/safetensors-edit.js';

const R = 8;

function family(id: string) {
  return TRIGGER_FAMILIES.find((f) => f.id === id)!;
}

function make(id: string, params: Record<string, unknown>, restore?: Record<string, HostTensor>): Trigger {
  const f = family(id);
  return f.create({
    params: resolveParams(id, f.params, params),
    seed: 5,
    resolution: R,
    ...(restore ? { restore } : {}),
  });
}

const pixels = (shape: number[], value: (i: number) => number): HostTensor => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)),
  shape,
});

/** Metadata of a version 1 file (no content hash), for crafted files written by hand. */
const meta = (method: string, params: object, resolution: number, extra: Record<string, string> = {}) => ({
  format: 'vetbench-trigger',
  formatVersion: '1',
  method,
  params: JSON.stringify(params),
  seed: '3',
  resolution: String(resolution),
  textKey: '',
  ...extra,
});

/**
 * Trigger files, loaded as `eval --trigger <file>` loads them (at the model's resolution). Version 2 files
 * are sealed, so an accepted mutant must rebuild the seed's trigger exactly: method, params, seed, arrays.
 */
export const triggerFileKind: FuzzKind<Trigger> = {
  id: 'trigger-file',
  fileName: 'trigger.safetensors',
  async seeds(dir) {
    const triggers: [string, Trigger][] = [
      ['blended', make('blended', {})],
      ['badnet-fixed', make('badnet', { noise: 'fixed', patchSize: 56 })],
      ['wanet', make('wanet', {})],
      ['sig', make('sig', {})],
      ['badclip-de', make('badclip-de', { patchSize: 56 }, { patch: pixels([3, 2, 2], (i) => (i % 7) / 7) })],
      [
        'badclip-prompt',
        make('badclip-prompt', {}, { delta: pixels([3, R, R], (i) => ((i % 5) - 2) / 255) }),
      ],
    ];
    const seeds = [];
    for (const [name, trigger] of triggers) {
      const path = join(dir, `${name}.safetensors`);
      await saveTrigger(path, trigger);
      seeds.push({ name, bytes: readFileSync(path) });
    }
    return seeds;
  },
  crafted() {
    const noise = (value: number, resolution = R) => [
      {
        name: 'noise',
        shape: [3, resolution, resolution],
        data: new Float32Array(3 * resolution * resolution).fill(value),
      },
    ];
    const cases: [string, Uint8Array][] = [
      ['blended NaN noise', encodeSafetensors(noise(NaN), meta('blended', {}, R))],
      ['blended 1e6 noise', encodeSafetensors(noise(1e6), meta('blended', {}, R))],
      ['blended -1 noise', encodeSafetensors(noise(-1), meta('blended', {}, R))],
      ['resolution 1e6', encodeSafetensors([], meta('blended', {}, 1_000_000))],
      [
        'resolution 100000 (184 bytes)',
        encodeSafetensors([], meta('blended', { freshNoise: true }, 100_000)),
      ],
      ['resolution 64 for an 8 px model', encodeSafetensors(noise(0.5, 64), meta('blended', {}, 64))],
      ['resolution -8', encodeSafetensors([], meta('blended', {}, -8))],
      ['resolution 8.5', encodeSafetensors([], meta('blended', {}, 8, { resolution: '8.5' }))],
      [
        'wanet grid NaN',
        encodeSafetensors(
          [{ name: 'grid', shape: [R, R, 2], data: new Float32Array(R * R * 2).fill(NaN) }],
          meta('wanet', {}, R),
        ),
      ],
      ['ratio 1e6', encodeSafetensors(noise(0.5), meta('blended', { ratio: 1e6 }, R))],
      ['unknown method', encodeSafetensors([], meta('evil', {}, R))],
      ['params not json', encodeSafetensors([], meta('sig', {}, R, { params: '{' }))],
      [
        'extra arrays',
        encodeSafetensors(
          [
            ...noise(0.5),
            { name: 'a', shape: [1], data: new Float32Array(1) },
            { name: 'b', shape: [1], data: new Float32Array(1) },
            { name: 'c', shape: [1], data: new Float32Array(1) },
            { name: 'd', shape: [1], data: new Float32Array(1) },
          ],
          meta('blended', {}, R),
        ),
      ],
      [
        'version 2 without hash',
        encodeSafetensors(noise(0.5), meta('blended', {}, R, { formatVersion: '2' })),
      ],
      ['future version', encodeSafetensors([], meta('sig', {}, R, { formatVersion: '3' }))],
      ['seed 1e400', encodeSafetensors([], meta('sig', {}, R, { seed: '1'.repeat(400) }))],
    ];
    return cases.map(([name, bytes]) => ({ name, bytes, expect: 'refuse' as const }));
  },
  mutations: [...BYTE_MUTATIONS, ...SAFETENSORS_MUTATIONS, ...SAFETENSORS_MUTATIONS],
  load: (path) => loadTrigger(path, TRIGGER_FAMILIES, { resolution: R }),
  judge(trigger, _input, seed) {
    const reference = seed?.reference;
    if (!reference) return null;
    if (trigger.method !== reference.method) return `method ${trigger.method}`;
    if (!isDeepStrictEqual(trigger.params, reference.params)) return 'params differ from the sealed ones';
    if (trigger.seed !== reference.seed || trigger.resolution !== reference.resolution)
      return 'seed or resolution differ';
    if (trigger.textKey !== reference.textKey) return 'text key differs';
    const a = trigger.tensors();
    const b = reference.tensors();
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!a[name] || !b[name] || !sameBytes(a[name].data, b[name].data)) return `array ${name} differs`;
    }
    return null;
  },
};
