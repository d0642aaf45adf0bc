import { createHash } from 'node:crypto';

/**
 * A 32-bit seed for one stream (e.g. one class) derived from the user's seed and a name. Each class then draws
 * from its own stream, so adding a class or a file to one class does not reshuffle every other class.
 */
export function deriveSeed(seed: number, ...names: readonly string[]): number {
  return createHash('sha256')
    .update(JSON.stringify([seed, ...names]))
    .digest()
    .readUInt32LE(0);
}
