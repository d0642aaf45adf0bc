import type { TextInput } from '../../engine/clip/clip-forward.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { readNpyFloat32, readNpyInt32 } from '../../engine/tensor/npy.js';
import { FIXTURE_DIR } from './compare.js';

/** A float32 reference array of the clip-tiny-a fixture. */
export const fixtureArray = (name: string): Promise<HostTensor> =>
  readNpyFloat32(`${FIXTURE_DIR}${name}.npy`);

/** Token ids of the fixture ([T, 77] int32) as a text input. */
export async function fixtureText(name: string): Promise<TextInput> {
  const t = await readNpyInt32(`${FIXTURE_DIR}${name}.npy`);
  return { ids: t.data, rows: t.shape[0] as number };
}

/** Rows `picks` of a [R, W] tensor. */
export function pickRows(t: HostTensor, picks: readonly number[]): HostTensor {
  const w = t.shape[1] as number;
  const out = new Float32Array(picks.length * w);
  picks.forEach((r, i) => out.set(t.data.subarray(r * w, (r + 1) * w), i * w));
  return { data: out, shape: [picks.length, w] };
}
