import { Rng } from '../../../engine/util/rng.js';

/**
 * Seeded mutations of a valid file: the random half of the fuzz suite. Each mutation is a pure function of the
 * seed bytes and an Rng, so a failing input is reproduced from its seed number alone.
 */
export type Mutation = (bytes: Uint8Array, rng: Rng) => Uint8Array;

/** Flips 1 to 8 random bits anywhere in the file. */
export const flipBits: Mutation = (bytes, rng) => {
  const out = bytes.slice();
  const flips = 1 + rng.int(8);
  for (let i = 0; i < flips && out.length > 0; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
  return out;
};

/** Overwrites a random byte with a value that often matters to parsers (0, 0xff, quote, brace, digit...). */
const INTERESTING = [0, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x2c, 0x0a, 0x2d, 0x39, 0x30, 0x5b, 0x5d, 0x3a];
export const interestingByte: Mutation = (bytes, rng) => {
  const out = bytes.slice();
  if (out.length > 0) out[rng.int(out.length)] = INTERESTING[rng.int(INTERESTING.length)]!;
  return out;
};

/** Cuts the file short at a random point (sometimes to nothing). */
export const truncate: Mutation = (bytes, rng) => bytes.slice(0, rng.int(bytes.length + 1));

/** Repeats a random chunk in place (shifts everything after it). */
export const duplicateChunk: Mutation = (bytes, rng) => {
  if (bytes.length === 0) return bytes;
  const start = rng.int(bytes.length);
  const end = Math.min(bytes.length, start + 1 + rng.int(64));
  const out = new Uint8Array(bytes.length + (end - start));
  out.set(bytes.subarray(0, end));
  out.set(bytes.subarray(start), end);
  return out;
};

/** Deletes a random chunk. */
export const deleteChunk: Mutation = (bytes, rng) => {
  if (bytes.length === 0) return bytes;
  const start = rng.int(bytes.length);
  const end = Math.min(bytes.length, start + 1 + rng.int(64));
  const out = new Uint8Array(bytes.length - (end - start));
  out.set(bytes.subarray(0, start));
  out.set(bytes.subarray(end), start);
  return out;
};

/** Appends random garbage. */
export const appendGarbage: Mutation = (bytes, rng) => {
  const extra = Uint8Array.from({ length: 1 + rng.int(256) }, () => rng.int(256));
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes);
  out.set(extra, bytes.length);
  return out;
};

/** The byte-level mutations, for any file kind. */
export const BYTE_MUTATIONS: readonly Mutation[] = [
  flipBits,
  interestingByte,
  truncate,
  duplicateChunk,
  deleteChunk,
  appendGarbage,
];

/** Applies one to three random mutations from `pool`. */
export function mutate(bytes: Uint8Array, rng: Rng, pool: readonly Mutation[]): Uint8Array {
  let out = bytes;
  const rounds = 1 + rng.int(3);
  for (let i = 0; i < rounds; i++) out = pool[rng.int(pool.length)]!(out, rng);
  return out;
}

/** Values that break naive numeric code: negative, fractional, huge, non-finite as JSON allows, wrong types. */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  -1,
  0,
  0.5,
  1e6,
  2 ** 31,
  2 ** 53,
  1e300,
  -1e300,
  '7',
  null,
  [],
  {},
  true,
];

export function pick<T>(rng: Rng, values: readonly T[]): T {
  return values[rng.int(values.length)]!;
}

export { Rng };
