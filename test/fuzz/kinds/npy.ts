import { encodeNpy, npyToFloat32, npyToInt32, readNpy, type NpyArray } from '../../../engine/tensor/npy.js';
import { VetbenchError } from '../../../engine/errors.js';
import type { FuzzKind } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS, HOSTILE_NUMBERS, pick, type Mutation } from '../harness/mutate.js';

/** A .npy with a hand-written header dict. */
export function npyWithHeader(header: string, body: Uint8Array, major = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const start = major === 1 ? 10 : 12;
  const out = new Uint8Array(start + text.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) new DataView(out.buffer).setUint16(8, text.length, true);
  else new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, start);
  out.set(body, start + text.length);
  return out;
}

/** Rewrites the shape tuple or dtype of the header dict (size lies: the data stays as it was). */
const headerLie: Mutation = (bytes, rng) => {
  const text = new TextDecoder('latin1').decode(bytes.subarray(10, Math.min(bytes.length, 10 + 256)));
  const end = text.indexOf('\n');
  if (end < 0) return bytes;
  const header = text.slice(0, end);
  const edited =
    rng.int(2) === 0
      ? header.replace(
          /'shape': \([^)]*\)/,
          `'shape': (${pick(rng, HOSTILE_NUMBERS.map(String))}, ${pick(rng, ['3', '-2', '0', '1.5', '99999999999'])})`,
        )
      : header.replace(
          /'descr': '[^']*'/,
          `'descr': '${pick(rng, ['<f4', '<i8', '>f4', '<c8', '|O', '<f2', '|b1', '<u4'])}'`,
        );
  return npyWithHeader(`${edited}\n`, bytes.subarray(10 + end + 1));
};

export interface NpyRead {
  readonly array: NpyArray;
  readonly floats: Float32Array;
  readonly ints: Int32Array | null;
}

/**
 * NumPy arrays, read as `encode --pixels/--input-ids` reads them (float32, and int32 for integer dtypes). There
 * is no integrity field in .npy, so an accepted mutant is judged for consistency: the values fill the shape,
 * and integer conversion never wraps.
 */
export const npyKind: FuzzKind<NpyRead> = {
  id: 'npy',
  fileName: 'array.npy',
  async seeds() {
    const ids = new BigInt64Array([49406n, 320n, 1125n, 49407n, 0n, 0n]);
    return [
      {
        name: 'float32',
        bytes: encodeNpy(
          Float32Array.from({ length: 24 }, (_, i) => i / 7),
          [2, 3, 4],
        ),
      },
      { name: 'int32', bytes: encodeNpy(Int32Array.from([49406, 320, 49407, 0]), [1, 4]) },
      {
        name: 'int64',
        bytes: npyWithHeader(
          `{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }\n`,
          new Uint8Array(ids.buffer),
        ),
      },
    ];
  },
  crafted() {
    const f4 = (shape: string, body = new Uint8Array(16)) =>
      npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }\n`, body);
    const cases: [string, Uint8Array, 'refuse' | 'either'][] = [
      ['negative shape', f4('(-4,)'), 'refuse'],
      ['fractional shape', f4('(1.5, 2)'), 'refuse'],
      ['huge shape', f4('(4294967296, 4294967296)'), 'refuse'],
      ['shape lies', f4('(1000000,)'), 'refuse'],
      [
        'int64 2^62',
        npyWithHeader(
          `{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n`,
          new Uint8Array(new BigInt64Array([2n ** 62n]).buffer),
        ),
        'refuse',
      ],
      [
        'object dtype',
        npyWithHeader(`{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n`, new Uint8Array(8)),
        'refuse',
      ],
      [
        'big-endian',
        npyWithHeader(`{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n`, new Uint8Array(4)),
        'refuse',
      ],
      [
        'fortran order',
        npyWithHeader(`{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n`, new Uint8Array(16)),
        'refuse',
      ],
      [
        'header past end',
        npyWithHeader('{', new Uint8Array(0)).map((v, i) => (i === 8 ? 0xff : v)),
        'refuse',
      ],
      [
        'version 9',
        npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n`, new Uint8Array(4), 9),
        'refuse',
      ],
      ['v2 cut off', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 1, 0]), 'refuse'],
      ['65 dimensions', f4(`(${Array(65).fill('1').join(', ')})`), 'refuse'],
      ['scalar', f4('()', new Uint8Array(4)), 'either'],
      ['empty', f4('(0, 5)', new Uint8Array(0)), 'either'],
      ['not npy', new TextEncoder().encode('hello world, not an array'), 'refuse'],
    ];
    return cases.map(([name, bytes, expect]) => ({ name, bytes, expect }));
  },
  mutations: [...BYTE_MUTATIONS, headerLie, headerLie],
  async load(path) {
    const array = await readNpy(path);
    const floats = npyToFloat32(array).data;
    let ints: Int32Array | null = null;
    try {
      ints = npyToInt32(array, path).data;
    } catch (e) {
      // Floats are refused as ids by design; anything else must be a clean refusal too.
      if (!(e instanceof VetbenchError)) throw e;
      if (!/expected integers/.test(e.message)) throw e;
    }
    return { array, floats, ints };
  },
  judge({ array, floats, ints }) {
    const count = array.shape.reduce((a, b) => a * b, 1);
    if (!array.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      return `shape [${array.shape.join(', ')}]`;
    if (array.values.length !== count || floats.length !== count) return 'values do not fill the shape';
    if (ints) {
      if (ints.length !== count) return 'int values do not fill the shape';
      const v = array.values;
      for (let i = 0; i < count; i++) {
        const original = v instanceof BigInt64Array ? v[i]! : BigInt(v[i]!);
        if (BigInt(ints[i]!) !== original) return `int ${original} became ${ints[i]}`;
      }
    }
    return null;
  },
};
