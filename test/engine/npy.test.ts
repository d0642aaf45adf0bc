import { describe, expect, it } from 'vitest';
import { VetbenchError } from '../../engine/errors.js';
import { encodeNpy, npyToFloat32, npyToInt32, parseNpy } from '../../engine/tensor/npy.js';

/** A .npy file with a hand-written header (what a hostile writer controls). */
function npy(header: string, body: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const start = major === 1 ? 10 : 12;
  const out = new Uint8Array(start + text.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, start);
  out.set(body, start + text.length);
  return out;
}

function refusal(run: () => unknown): VetbenchError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VetbenchError);
    return e as VetbenchError;
  }
  throw new Error('expected a refusal');
}

describe('npy reader on hostile headers', () => {
  it('round-trips float32 and int32', () => {
    const f = parseNpy(encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]));
    expect(f.shape).toEqual([2, 2]);
    expect(Array.from(npyToFloat32(f).data)).toEqual([1, 2, 3, 4]);
    const i = parseNpy(encodeNpy(Int32Array.from([7, -8]), [2]));
    expect(Array.from(npyToInt32(i).data)).toEqual([7, -8]);
  });

  it.each([
    ['negative', '(-3, 4)', /'-3' is not a non-negative integer/],
    ['fractional', '(2.5,)', /'2.5' is not a non-negative integer/],
    ['word', '(n,)', /'n' is not a non-negative integer/],
    ['huge', '(100000000000000, 100000000000000)', /holds too many values/],
    ['lying', '(1000000,)', /needs 4000000 bytes of data but the file holds 8/],
  ])('refuses a %s shape before allocating', (_name, shape, expected) => {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }\n`;
    const e = refusal(() => parseNpy(npy(header, new Uint8Array(8)), 'ids.npy'));
    expect(e.code).toBe('npy-invalid');
    expect(e.message).toMatch(/^ids\.npy: /);
    expect(e.message).toMatch(expected);
  });

  it('refuses int64 ids beyond int32 instead of wrapping them', () => {
    const body = new Uint8Array(new BigInt64Array([5n, 2n ** 62n]).buffer);
    const arr = parseNpy(npy(`{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n`, body), 'ids.npy');
    expect(refusal(() => npyToInt32(arr, 'ids.npy')).message).toMatch(
      /4611686018427387904 at index 1 does not fit in int32/,
    );
    const small = new Uint8Array(new BigInt64Array([5n, -7n]).buffer);
    const ok = parseNpy(npy(`{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n`, small));
    expect(Array.from(npyToInt32(ok).data)).toEqual([5, -7]);
  });

  it('refuses unknown versions and cut-off headers', () => {
    expect(refusal(() => parseNpy(npy('{}', new Uint8Array(0), 9))).message).toMatch(
      /unknown format version 9/,
    );
    const cut = npy(
      `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n`,
      new Uint8Array(0),
      2,
    ).subarray(0, 11);
    expect(refusal(() => parseNpy(cut)).message).toMatch(/cut off/);
  });
});
