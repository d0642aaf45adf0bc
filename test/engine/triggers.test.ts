import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../engine/clip/safetensors.js';
import { encodePng } from '../../engine/demo/png.js';
import { VetbenchError } from '../../engine/errors.js';
import { decodeImage } from '../../engine/image/decode.js';
import { toModelPixels } from '../../engine/image/preprocess.js';
import { resolveParams, type ParamValues } from '../../engine/methods/params.js';
import { TRIGGER_FAMILIES } from '../../engine/methods/registry.js';
import { badnetFixedNoise, badnetTrigger } from '../../engine/triggers/badnet.js';
import { blendedTrigger } from '../../engine/triggers/blended.js';
import { scaledPatchSize, streamSeed } from '../../engine/triggers/patch.js';
import { renderTriggerPreview } from '../../engine/triggers/preview.js';
import { sigTrigger } from '../../engine/triggers/sig.js';
import { createSsbaTrigger, ssbaImportTrigger } from '../../engine/triggers/ssba-import.js';
import { loadTrigger, saveTrigger } from '../../engine/triggers/trigger-file.js';
import type { Trigger, TriggerFamily } from '../../engine/triggers/trigger.js';
import {
  gridSampleBilinear,
  identityCoordinate,
  upsampleBilinearAlignCorners,
  wanetGrid,
  wanetNoise,
  wanetTrigger,
} from '../../engine/triggers/wanet.js';
import { Rng } from '../../engine/util/rng.js';

const FAMILIES: readonly TriggerFamily[] = [
  badnetTrigger,
  blendedTrigger,
  wanetTrigger,
  sigTrigger,
  ssbaImportTrigger,
];

function make(
  family: TriggerFamily,
  resolution: number,
  given: Record<string, unknown> = {},
  seed = 7,
): Trigger {
  const params = resolveParams(family.id, family.params, given);
  return family.create({ params, seed, resolution });
}

/** An image of random [0, 1] values that are exact k/255 bytes, like decoded pixels. */
function randomImage(resolution: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: 3 * resolution * resolution }, () => rng.int(256) / 255);
}

function constantImage(resolution: number, value: number): Float32Array {
  return new Float32Array(3 * resolution * resolution).fill(value);
}

function batch(...images: Float32Array[]): Float32Array {
  const out = new Float32Array(images.reduce((n, img) => n + img.length, 0));
  let offset = 0;
  for (const img of images) {
    out.set(img, offset);
    offset += img.length;
  }
  return out;
}

function keys(...names: string[]): { key: string }[] {
  return names.map((key) => ({ key }));
}

async function applied(trigger: Trigger, image: Float32Array, key: string): Promise<Float32Array> {
  const out = image.slice();
  await trigger.apply(out, keys(key));
  return out;
}

/** The per-image stream as the brief defines it, recomputed here: SHA-256 of `${seed}:${key}`, first 4 bytes LE. */
function testStream(seed: number, name: string): Rng {
  return new Rng(createHash('sha256').update(`${seed}:${name}`).digest().readUInt32LE(0));
}

async function expectVetbenchError(
  run: () => unknown,
  code: string,
  ...fragments: string[]
): Promise<VetbenchError> {
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(VetbenchError);
  const err = caught as VetbenchError;
  expect(err.code).toBe(code);
  for (const f of fragments) expect(`${err.message}\n${err.hint}`).toContain(f);
  return err;
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;

// -------------------------------------------------------------------------------------------------------------
describe('BadNet', () => {
  /** Expected result, recomputed from the definition with the per-image stream. */
  function expectedBadnet(
    image: Float32Array,
    resolution: number,
    size: number,
    seed: number,
    key: string,
    location: 'random' | 'corner' | 'center',
  ): { out: Float32Array; top: number; left: number } {
    const rng = testStream(seed, key);
    let top: number;
    let left: number;
    if (location === 'random') {
      top = rng.int(resolution - size + 1);
      left = rng.int(resolution - size + 1);
    } else if (location === 'corner') {
      top = left = resolution - size;
    } else {
      top = left = Math.floor((resolution - size) / 2);
    }
    const plane = resolution * resolution;
    const out = image.slice();
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let i = 0; i < plane; i++) sum += image[c * plane + i]!;
      const mean = sum / plane;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          out[c * plane + (top + y) * resolution + left + x] = Math.min(1, Math.max(0, mean + rng.normal()));
        }
      }
    }
    return { out, top, left };
  }

  /** The bounding box of the pixels that differ. */
  function changedBox(a: Float32Array, b: Float32Array, resolution: number) {
    const plane = resolution * resolution;
    let top = resolution;
    let left = resolution;
    let bottom = -1;
    let right = -1;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      const p = i % plane;
      const y = Math.floor(p / resolution);
      const x = p % resolution;
      top = Math.min(top, y);
      left = Math.min(left, x);
      bottom = Math.max(bottom, y);
      right = Math.max(right, x);
    }
    return { top, left, height: bottom - top + 1, width: right - left + 1 };
  }

  it('scales the patch side with the resolution: round(16 R / 224), at least 1 px', () => {
    expect(scaledPatchSize(16, 224)).toBe(16);
    expect(scaledPatchSize(16, 32)).toBe(2);
    expect(scaledPatchSize(16, 336)).toBe(24);
    expect(scaledPatchSize(16, 8)).toBe(1);
    expect(scaledPatchSize(1, 32)).toBe(1);
    expect(scaledPatchSize(300, 224)).toBe(224);
  });

  for (const [resolution, size] of [
    [224, 16],
    [32, 2],
  ] as const) {
    for (const location of ['random', 'corner', 'center'] as const) {
      it(`changes exactly the ${size}px square at R=${resolution} (${location}), filled with clamp(mean + N(0,1))`, () => {
        const seed = 11;
        const trigger = make(badnetTrigger, resolution, { location }, seed);
        const images = [
          randomImage(resolution, 1),
          constantImage(resolution, 0.5),
          randomImage(resolution, 2),
        ];
        const names = ['cls/a.jpg', 'cls/b.jpg', 'other/c.png'];
        const pixels = batch(...images);
        trigger.apply(pixels, keys(...names));
        const size3 = 3 * resolution * resolution;
        images.forEach((img, n) => {
          const got = pixels.subarray(n * size3, (n + 1) * size3);
          const want = expectedBadnet(img, resolution, size, seed, names[n]!, location);
          expect(sameBits(got, want.out)).toBe(true);
          const box = changedBox(img, got, resolution);
          // noise makes every patch pixel differ somewhere across channels (probability of all-equal is nil)
          expect(box).toEqual({ top: want.top, left: want.left, height: size, width: size });
          if (location === 'corner')
            expect([want.top, want.left]).toEqual([resolution - size, resolution - size]);
          if (location === 'center') {
            const c = Math.floor((resolution - size) / 2);
            expect([want.top, want.left]).toEqual([c, c]);
          }
        });
      });
    }
  }

  it('patch statistics: mean of the pre-clamp noise is the image mean, spread N(0,1) (clamped)', () => {
    const resolution = 224;
    const trigger = make(badnetTrigger, resolution, { location: 'center', patchSize: 112 });
    const img = constantImage(resolution, 0.5);
    const out = img.slice();
    trigger.apply(out, keys('x.png'));
    const plane = resolution * resolution;
    const values: number[] = [];
    for (let c = 0; c < 3; c++)
      for (let y = 56; y < 168; y++)
        for (let x = 56; x < 168; x++) values.push(out[c * plane + y * resolution + x]!);
    // with mean 0.5 and N(0,1) noise: P(clamped to 0) = P(clamped to 1) = Phi(-0.5) = 0.3085
    const zeros = values.filter((v) => v === 0).length / values.length;
    const ones = values.filter((v) => v === 1).length / values.length;
    expect(zeros).toBeCloseTo(0.3085, 1);
    expect(ones).toBeCloseTo(0.3085, 1);
    const middle = values.filter((v) => v > 0 && v < 1);
    expect(middle.reduce((a, b) => a + b, 0) / middle.length).toBeCloseTo(0.5, 2);
  });

  it('is deterministic per image key, independent of batch position, and differs across keys and seeds', async () => {
    const R = 32;
    const img = randomImage(R, 3);
    const t = make(badnetTrigger, R, {}, 5);
    const alone = await applied(t, img, 'a.jpg');
    const pair = batch(randomImage(R, 4), img);
    t.apply(pair, keys('b.jpg', 'a.jpg'));
    expect(sameBits(pair.subarray(3 * R * R), alone)).toBe(true);
    expect(sameBits(await applied(make(badnetTrigger, R, {}, 5), img, 'a.jpg'), alone)).toBe(true);
    expect(sameBits(await applied(t, img, 'a2.jpg'), alone)).toBe(false);
    expect(sameBits(await applied(make(badnetTrigger, R, {}, 6), img, 'a.jpg'), alone)).toBe(false);
    expect(streamSeed(5, 'a.jpg')).toBe(createHash('sha256').update('5:a.jpg').digest().readUInt32LE(0));
    expect(t.tensors()).toEqual({});
  });

  it("noise 'fixed': one seeded pattern added to every image's mean, saved with the run", async () => {
    const R = 32;
    const size = 6;
    const t = make(badnetTrigger, R, { noise: 'fixed', location: 'corner', patchSize: 42 }, 5);
    const noise = t.tensors().noise!;
    expect(noise.shape).toEqual([3, size, size]);
    expect(sameBits(noise.data, badnetFixedNoise(5, size))).toBe(true);
    expect(sameBits(badnetFixedNoise(6, size), noise.data)).toBe(false);
    for (const [k, value] of [
      ['a.png', 0.3],
      ['b.png', 0.6],
    ] as const) {
      const out = await applied(t, constantImage(R, value), k);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const got = out[(c * R + R - size + y) * R + R - size + x]!;
            expect(got).toBe(
              Math.fround(
                Math.min(1, Math.max(0, Math.fround(value) + noise.data[(c * size + y) * size + x]!)),
              ),
            );
          }
    }
    // re-created from the saved pattern, not the seed
    const restored = badnetTrigger.create({
      params: t.params,
      seed: 99,
      resolution: R,
      restore: { noise: { data: new Float32Array(3 * size * size).fill(0.25), shape: [3, size, size] } },
    });
    const out = await applied(restored, constantImage(R, 0.5), 'a.png');
    expect(out[R * R - 1]).toBe(0.75);
  });

  it('refuses a batch whose size does not match the keys', () => {
    const t = make(badnetTrigger, 8);
    expect(() => t.apply(new Float32Array(3 * 8 * 8 * 2), keys('a'))).toThrow(VetbenchError);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('Blended', () => {
  it("x' = 0.8 x + 0.2 u with u the saved noise, the same for every image", () => {
    const R = 16;
    const t = make(blendedTrigger, R, {}, 9);
    const noise = t.tensors().noise!;
    expect(noise.shape).toEqual([3, R, R]);
    // the noise is the seed's fixed stream, U[0,1) in channel, row, column order
    const rng = testStream(9, 'trigger:blended:noise');
    expect(
      sameBits(
        noise.data,
        Float32Array.from({ length: 3 * R * R }, () => rng.uniform()),
      ),
    ).toBe(true);
    const images = [randomImage(R, 1), randomImage(R, 2)];
    const pixels = batch(...images);
    t.apply(pixels, keys('a', 'b'));
    images.forEach((img, n) => {
      for (let i = 0; i < img.length; i++) {
        const x2 = pixels[n * img.length + i]!;
        expect(x2).toBe(Math.fround(0.8 * img[i]! + 0.2 * noise.data[i]!));
        expect(Math.abs((x2 - 0.8 * img[i]!) / 0.2 - noise.data[i]!)).toBeLessThan(1e-6);
      }
    });
    expect(sameBits(make(blendedTrigger, R, {}, 9).tensors().noise!.data, noise.data)).toBe(true);
    expect(sameBits(make(blendedTrigger, R, {}, 10).tensors().noise!.data, noise.data)).toBe(false);
  });

  it('honours the ratio parameter', async () => {
    const R = 8;
    const t = make(blendedTrigger, R, { ratio: 0.5 });
    const noise = t.tensors().noise!.data;
    const img = randomImage(R, 3);
    const out = await applied(t, img, 'k');
    for (let i = 0; i < img.length; i++) expect(out[i]).toBe(Math.fround(0.5 * img[i]! + 0.5 * noise[i]!));
  });

  it('freshNoise draws u per image from the image stream, deterministic per key', async () => {
    const R = 8;
    const t = make(blendedTrigger, R, { freshNoise: true }, 4);
    expect(t.tensors()).toEqual({});
    const img = constantImage(R, 0.25);
    const a = await applied(t, img, 'a.png');
    const rng = testStream(4, 'a.png');
    for (let i = 0; i < img.length; i++)
      expect(a[i]).toBe(Math.fround(0.8 * 0.25 + 0.2 * Math.fround(rng.uniform())));
    expect(sameBits(await applied(t, img, 'a.png'), a)).toBe(true);
    expect(sameBits(await applied(t, img, 'b.png'), a)).toBe(false);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('WaNet', () => {
  it('draws r ~ U(-1,1), normalised to mean |r| = 1, from the seed stream', () => {
    const k = 4;
    const r = wanetNoise(3, k);
    const rng = testStream(3, 'trigger:wanet:noise');
    const raw = Array.from({ length: 2 * k * k }, () => rng.range(-1, 1));
    const mean = raw.reduce((s, v) => s + Math.abs(v), 0) / raw.length;
    raw.forEach((v, i) => expect(r[i]).toBeCloseTo(v / mean, 12));
    expect(Array.from(r).reduce((s, v) => s + Math.abs(v), 0) / r.length).toBeCloseTo(1, 12);
  });

  it('upsamples bilinearly with align corners', () => {
    // a bilinear function is reproduced exactly; grid nodes land on source samples i * (k-1)/(R-1)
    const k = 4;
    const R = 10;
    const src = Float64Array.from(
      { length: k * k },
      (_, p) => 2 * Math.floor(p / k) + 3 * (p % k) + 0.5 * Math.floor(p / k) * (p % k),
    );
    const up = upsampleBilinearAlignCorners(src, 1, k, R);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < R; j++) {
        const y = (i * (k - 1)) / (R - 1);
        const x = (j * (k - 1)) / (R - 1);
        expect(up[i * R + j]).toBeCloseTo(2 * y + 3 * x + 0.5 * x * y, 10);
      }
    }
    // corners kept exactly; a non-bilinear source: midpoint of nodes 0 and 1 along x at i=0 (pos 1/3)
    const noise = Float64Array.from({ length: k * k }, (_, p) => Math.sin(p * 1.7));
    const up2 = upsampleBilinearAlignCorners(noise, 1, k, R);
    expect(up2[0]).toBe(noise[0]);
    expect(up2[R - 1]).toBe(noise[k - 1]);
    expect(up2[R * R - 1]).toBe(noise[k * k - 1]);
    expect(up2[1]).toBeCloseTo((2 / 3) * noise[0]! + (1 / 3) * noise[1]!, 12);
    // k = R: identity
    expect(Array.from(upsampleBilinearAlignCorners(noise, 1, k, k))).toEqual(Array.from(noise));
  });

  it('grid = clamp(identity + s r / R, -1, 1): within [-1, 1], mean displacement s/R', () => {
    for (const [R, s] of [
      [32, 1],
      [24, 3],
    ] as const) {
      const { field, grid } = wanetGrid(5, R, { gridSize: 0, strength: s });
      expect(field.length).toBe(R * R * 2);
      // k = R: the field is r itself, so mean |r| = 1 and the unclamped mean |displacement| is exactly s / R
      expect(Array.from(field).reduce((a, v) => a + Math.abs(v), 0) / field.length).toBeCloseTo(1, 12);
      let moved = 0;
      for (let i = 0; i < R; i++) {
        for (let j = 0; j < R; j++) {
          const p = i * R + j;
          const gx = grid[2 * p]!;
          const gy = grid[2 * p + 1]!;
          expect(Math.abs(gx)).toBeLessThanOrEqual(1);
          expect(Math.abs(gy)).toBeLessThanOrEqual(1);
          const ux = identityCoordinate(j, R) + (s * field[2 * p]!) / R;
          const uy = identityCoordinate(i, R) + (s * field[2 * p + 1]!) / R;
          expect(gx).toBe(Math.fround(Math.min(1, Math.max(-1, ux))));
          expect(gy).toBe(Math.fround(Math.min(1, Math.max(-1, uy))));
          moved += Math.abs(gx - identityCoordinate(j, R)) + Math.abs(gy - identityCoordinate(i, R));
        }
      }
      const meanMoved = moved / (2 * R * R);
      // clamping at the border only shrinks it, by a few percent
      expect(meanMoved).toBeLessThanOrEqual(s / R + 1e-6);
      expect(meanMoved).toBeGreaterThan(0.9 * (s / R));
    }
  });

  it('saves the grid, the same for every image, and warps by bilinear sampling (align corners)', async () => {
    const R = 16;
    const t = make(wanetTrigger, R, { gridSize: 4, strength: 2 }, 8);
    const grid = t.tensors().grid!;
    expect(grid.shape).toEqual([R, R, 2]);
    expect(sameBits(grid.data, wanetGrid(8, R, { gridSize: 4, strength: 2 }).grid)).toBe(true);
    const img = randomImage(R, 6);
    const pixels = batch(img, img);
    t.apply(pixels, keys('a', 'b'));
    const size = 3 * R * R;
    expect(sameBits(pixels.subarray(0, size), pixels.subarray(size))).toBe(true);
    // reference: torch grid_sample, bilinear, zeros padding, align_corners=True
    const plane = R * R;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        const ix = ((grid.data[2 * p]! + 1) / 2) * (R - 1);
        const iy = ((grid.data[2 * p + 1]! + 1) / 2) * (R - 1);
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        let v = 0;
        for (const [x, y] of [
          [x0, y0],
          [x0 + 1, y0],
          [x0, y0 + 1],
          [x0 + 1, y0 + 1],
        ] as const) {
          if (x < 0 || y < 0 || x >= R || y >= R) continue;
          v += (1 - Math.abs(ix - x)) * (1 - Math.abs(iy - y)) * img[c * plane + y * R + x]!;
        }
        expect(pixels[c * plane + p]).toBeCloseTo(v, 6);
      }
    }
    expect(sameBits(pixels.subarray(0, size), img)).toBe(false);
  });

  it('strength 0 is the identity warp; a one-pixel shift samples the next column', async () => {
    const R = 24;
    const img = randomImage(R, 2);
    const still = await applied(make(wanetTrigger, R, { strength: 0 }), img, 'x');
    for (let i = 0; i < img.length; i++) expect(Math.abs(still[i]! - img[i]!)).toBeLessThan(1e-5);
    const grid = new Float32Array(R * R * 2);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < R; j++) {
        grid[2 * (i * R + j)] = Math.min(1, identityCoordinate(j, R) + 2 / (R - 1));
        grid[2 * (i * R + j) + 1] = identityCoordinate(i, R);
      }
    }
    const shifted = img.slice();
    gridSampleBilinear(shifted, 0, R, grid);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < R; i++) {
        for (let j = 0; j < R; j++) {
          const want = img[(c * R + i) * R + Math.min(j + 1, R - 1)]!;
          expect(Math.abs(shifted[(c * R + i) * R + j]! - want)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('is fixed by the seed', () => {
    const a = make(wanetTrigger, 16, {}, 1).tensors().grid!.data;
    expect(sameBits(make(wanetTrigger, 16, {}, 1).tensors().grid!.data, a)).toBe(true);
    expect(sameBits(make(wanetTrigger, 16, {}, 2).tensors().grid!.data, a)).toBe(false);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('SIG', () => {
  it("x' - x = 60/255 sin(2 pi 6 j / W) on mid-gray, every row and channel", async () => {
    const R = 32;
    const img = constantImage(R, 0.5);
    const out = await applied(make(sigTrigger, R), img, 'k');
    for (let row = 0; row < 3 * R; row++) {
      for (let j = 0; j < R; j++) {
        const d = out[row * R + j]! - 0.5;
        expect(Math.abs(d - (60 / 255) * Math.sin((2 * Math.PI * 6 * j) / R))).toBeLessThan(1e-7);
      }
    }
  });

  it('clamps, and honours amplitude and frequency', async () => {
    const R = 20;
    const white = await applied(make(sigTrigger, R), constantImage(R, 1), 'k');
    for (let j = 0; j < R; j++) {
      const s = (60 / 255) * Math.sin((2 * Math.PI * 6 * j) / R);
      expect(white[j]).toBeCloseTo(Math.min(1, 1 + s), 6);
    }
    const other = await applied(
      make(sigTrigger, R, { amplitude: 30, frequency: 2 }),
      constantImage(R, 0.5),
      'k',
    );
    for (let j = 0; j < R; j++) {
      expect(other[R + j]! - 0.5).toBeCloseTo((30 / 255) * Math.sin((2 * Math.PI * 2 * j) / R), 6);
    }
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('SSBA import', () => {
  let dir = '';
  const R = 16;

  function png(path: string, width: number, height: number, seed: number): void {
    const rng = new Rng(seed);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(
      path,
      encodePng(
        width,
        height,
        Uint8Array.from({ length: width * height * 3 }, () => rng.int(256)),
      ),
    );
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vetbench-ssba-'));
    png(join(dir, 'poison', 'cat', 'a.png'), 20, 24, 1); // same relative path
    png(join(dir, 'poison', 'cat', 'b.png'), 16, 16, 2); // clean is cat/b.jpg: other extension
    png(join(dir, 'poison', 'c.png'), 30, 20, 3); // clean is dog/c.png: same file name, flat export
    png(join(dir, 'poison', 'x', 'd.png'), 16, 16, 4); // d.png twice: ambiguous
    png(join(dir, 'poison', 'y', 'd.png'), 16, 16, 5);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function expected(rel: string): Promise<Float32Array> {
    return toModelPixels(await decodeImage(join(dir, 'poison', rel)), R);
  }

  it('replaces each image by its imported copy, matched by path, extension-free path or file name', async () => {
    const t = createSsbaTrigger({
      params: resolveParams('ssba', ssbaImportTrigger.params, { folder: join(dir, 'poison') }),
      seed: 0,
      resolution: R,
    });
    const names = ['cat/a.png', 'cat/b.jpg', 'dog/c.png'];
    const pixels = batch(randomImage(R, 1), randomImage(R, 2), randomImage(R, 3));
    await t.apply(pixels, keys(...names));
    const size = 3 * R * R;
    const want = [await expected('cat/a.png'), await expected('cat/b.png'), await expected('c.png')];
    want.forEach((w, n) => expect(sameBits(pixels.subarray(n * size, (n + 1) * size), w)).toBe(true));
    expect(await t.match('cat/a.png')).toMatchObject({ kind: 'found', by: 'relative-path' });
    expect(await t.match('cat\\b.jpg')).toMatchObject({ kind: 'found', by: 'relative-path-any-extension' });
    expect(await t.match('dog/c.png')).toMatchObject({ kind: 'found', by: 'file-name' });
    expect(await t.match('dog/c.jpeg')).toMatchObject({ kind: 'found', by: 'file-name-any-extension' });
    expect(await t.match('z/d.png')).toMatchObject({ kind: 'ambiguous' });
    expect(await t.match('nowhere.png')).toEqual({ kind: 'missing' });
    expect(t.tensors()).toEqual({});
  });

  it('refuses a missing image by name, or leaves it clean with missing=skip-unchanged', async () => {
    const folder = join(dir, 'poison');
    const strict = make(ssbaImportTrigger, R, { folder });
    const pixels = batch(randomImage(R, 1), randomImage(R, 2));
    await expectVetbenchError(
      () => strict.apply(pixels, keys('cat/a.png', 'bird/zzz.jpg')),
      'ssba-image-missing',
      'bird/zzz.jpg',
      'poisoned copy of every test image',
    );
    await expectVetbenchError(
      () => strict.apply(randomImage(R, 1), keys('z/d.png')),
      'ssba-ambiguous',
      'x/d.png',
    );

    const lenient = createSsbaTrigger({
      params: resolveParams('ssba', ssbaImportTrigger.params, { folder, missing: 'skip-unchanged' }),
      seed: 0,
      resolution: R,
    });
    const clean = randomImage(R, 9);
    const both = batch(randomImage(R, 1), clean);
    await lenient.apply(both, keys('cat/a.png', 'bird/zzz.jpg'));
    expect(sameBits(both.subarray(3 * R * R), clean)).toBe(true);
    expect(sameBits(both.subarray(0, 3 * R * R), await expected('cat/a.png'))).toBe(true);
    expect([...lenient.skippedKeys]).toEqual(['bird/zzz.jpg']);
  });

  it('refuses a missing or absent folder', async () => {
    await expectVetbenchError(() => make(ssbaImportTrigger, R, {}), 'ssba-folder-missing', 'folder=');
    await expectVetbenchError(
      () => make(ssbaImportTrigger, R, { folder: join(dir, 'nope') }),
      'ssba-folder-missing',
      'nope',
    );
    mkdirSync(join(dir, 'empty'), { recursive: true });
    const empty = make(ssbaImportTrigger, R, { folder: join(dir, 'empty') });
    await expectVetbenchError(() => empty.apply(randomImage(R, 1), keys('a.png')), 'ssba-folder-empty');
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('trigger files', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vetbench-trigger-'));
    mkdirSync(join(dir, 'poison'));
    writeFileSync(join(dir, 'poison', 'a.png'), encodePng(8, 8, new Uint8Array(8 * 8 * 3).fill(200)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [TriggerFamily, Record<string, unknown>][] = [
    [badnetTrigger, {}],
    [badnetTrigger, { location: 'corner', patchSize: 40 }],
    [badnetTrigger, { noise: 'fixed', patchSize: 40 }],
    [blendedTrigger, {}],
    [blendedTrigger, { freshNoise: true, ratio: 0.3 }],
    [wanetTrigger, {}],
    [wanetTrigger, { gridSize: 4, strength: 0.5 }],
    [sigTrigger, { amplitude: 20, frequency: 3 }],
  ];
  for (const [family, given] of cases) {
    it(`round-trips ${family.id} ${JSON.stringify(given)} with bit-identical application`, async () => {
      const R = 32;
      const original = make(family, R, given, 1234567);
      const path = join(dir, `${family.id}.safetensors`);
      await saveTrigger(path, original);
      const loaded = await loadTrigger(path, FAMILIES, { resolution: R });
      expect([loaded.method, loaded.seed, loaded.resolution, loaded.textKey]).toEqual([
        original.method,
        1234567,
        R,
        '',
      ]);
      expect(loaded.params).toEqual(original.params);
      const pixels = batch(randomImage(R, 1), randomImage(R, 2));
      const a = pixels.slice();
      const b = pixels.slice();
      await original.apply(a, keys('p/1.jpg', 'p/2.jpg'));
      await loaded.apply(b, keys('p/1.jpg', 'p/2.jpg'));
      expect(sameBits(a, b)).toBe(true);
      expect(sameBits(a, pixels)).toBe(false);
      for (const [name, t] of Object.entries(original.tensors())) {
        expect(sameBits(loaded.tensors()[name]!.data, t.data)).toBe(true);
      }
    });
  }

  it('round-trips the SSBA import with its folder', async () => {
    const original = make(ssbaImportTrigger, 8, { folder: join(dir, 'poison') });
    const path = join(dir, 'ssba.safetensors');
    await saveTrigger(path, original);
    const loaded = await loadTrigger(path, FAMILIES);
    const a = randomImage(8, 1);
    const b = a.slice();
    await original.apply(a, keys('a.png'));
    await loaded.apply(b, keys('a.png'));
    expect(sameBits(a, b)).toBe(true);
    expect(loaded.params.folder).toBe(join(dir, 'poison'));
  });

  it('uses the saved arrays, not the seed, when re-loading', async () => {
    const R = 8;
    const path = join(dir, 'tampered.safetensors');
    const noise = new Float32Array(3 * R * R).fill(0.5);
    await writeSafetensors(path, [{ name: 'noise', shape: [3, R, R], data: noise }], meta('blended', {}, R));
    const loaded = await loadTrigger(path, FAMILIES);
    const out = await applied(loaded, constantImage(R, 0), 'k');
    expect(out.every((v) => v === Math.fround(0.2 * 0.5))).toBe(true);
  });

  function meta(method: string, params: ParamValues, resolution: number, extra: Record<string, string> = {}) {
    return {
      format: 'vetbench-trigger',
      formatVersion: '1',
      method,
      params: JSON.stringify(params),
      seed: '3',
      resolution: String(resolution),
      textKey: '',
      ...extra,
    };
  }

  it('refuses unknown methods, corrupt files, other formats and resolution mismatches', async () => {
    const R = 16;
    const good = join(dir, 'good.safetensors');
    await saveTrigger(good, make(wanetTrigger, R));

    await expectVetbenchError(
      () => loadTrigger(good, [badnetTrigger]),
      'trigger-unknown-method',
      "'wanet'",
      'badnet',
    );
    await expectVetbenchError(
      () => loadTrigger(good, FAMILIES, { resolution: 224 }),
      'trigger-resolution-mismatch',
      '16x16',
      '224',
    );

    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, Buffer.from('this is not a safetensors file at all'));
    await expectVetbenchError(() => loadTrigger(garbage, FAMILIES), 'trigger-file-corrupt', garbage);

    const truncated = join(dir, 'truncated.safetensors');
    const bytes = readFileSync(good);
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await expectVetbenchError(() => loadTrigger(truncated, FAMILIES), 'trigger-file-corrupt');

    const other = join(dir, 'weights.safetensors');
    await writeSafetensors(other, [{ name: 'w', shape: [2], data: new Float32Array(2) }], { format: 'pt' });
    await expectVetbenchError(
      () => loadTrigger(other, FAMILIES),
      'trigger-file-invalid',
      'not a Vetbench trigger file',
    );

    const badJson = join(dir, 'bad-json.safetensors');
    await writeSafetensors(badJson, [], { ...meta('sig', {}, R), params: '{oops' });
    await expectVetbenchError(() => loadTrigger(badJson, FAMILIES), 'trigger-file-corrupt', 'JSON');

    const badParam = join(dir, 'bad-param.safetensors');
    await writeSafetensors(badParam, [], meta('sig', { amplitude: 999 }, R));
    await expectVetbenchError(() => loadTrigger(badParam, FAMILIES), 'trigger-file-corrupt', 'amplitude');

    const badSeed = join(dir, 'bad-seed.safetensors');
    await writeSafetensors(badSeed, [], meta('sig', {}, R, { seed: 'x' }));
    await expectVetbenchError(() => loadTrigger(badSeed, FAMILIES), 'trigger-file-corrupt', 'seed');

    const newer = join(dir, 'newer.safetensors');
    await writeSafetensors(newer, [], meta('sig', {}, R, { formatVersion: '99' }));
    await expectVetbenchError(() => loadTrigger(newer, FAMILIES), 'trigger-file-version', 'Update');

    const wrongShape = join(dir, 'wrong-shape.safetensors');
    await writeSafetensors(
      wrongShape,
      [{ name: 'grid', shape: [8, 8, 2], data: new Float32Array(128) }],
      meta('wanet', {}, R),
    );
    await expectVetbenchError(
      () => loadTrigger(wrongShape, FAMILIES),
      'trigger-tensor-mismatch',
      '[16, 16, 2]',
    );

    const outside = join(dir, 'outside.safetensors');
    await writeSafetensors(
      outside,
      [{ name: 'grid', shape: [R, R, 2], data: new Float32Array(R * R * 2).fill(3) }],
      meta('wanet', {}, R),
    );
    await expectVetbenchError(() => loadTrigger(outside, FAMILIES), 'trigger-tensor-invalid');

    await expectVetbenchError(() => loadTrigger(join(dir, 'absent.safetensors'), FAMILIES), 'file-not-found');
  });

  it('refuses arrays holding NaN or out-of-range values in every family that saves arrays, naming the file', async () => {
    const R = 16;
    const cases: [string, string, number[], ParamValues][] = [
      ['blended', 'noise', [3, R, R], {}],
      ['badnet', 'noise', [3, 2, 2], { noise: 'fixed', patchSize: 28 }],
      ['wanet', 'grid', [R, R, 2], {}],
      ['badclip-de', 'patch', [3, 1, 1], {}],
      ['badclip-prompt', 'delta', [3, R, R], {}],
    ];
    for (const [method, name, shape, params] of cases) {
      for (const value of [NaN, 1e6, -Infinity]) {
        const path = join(dir, `bad-${method}-${String(value)}.safetensors`);
        const count = shape.reduce((a, b) => a * b, 1);
        const data = new Float32Array(count);
        data[count - 1] = value;
        await writeSafetensors(path, [{ name, shape, data }], meta(method, params, R));
        const e = await expectVetbenchError(
          () => loadTrigger(path, TRIGGER_FAMILIES),
          'trigger-tensor-invalid',
          path,
        );
        expect(e.message).toMatch(/outside/);
      }
    }
  });

  it('seals a saved trigger (version 2): an edited parameter or array is refused', async () => {
    const R = 8;
    const path = join(dir, 'sealed-trigger.safetensors');
    await saveTrigger(path, make(blendedTrigger, R));
    const saved = await readSafetensors(path);
    expect(saved.metadata.formatVersion).toBe('2');
    const edits: [string, Record<string, string>, Float32Array][] = [
      [
        'ratio',
        { ...saved.metadata, params: JSON.stringify({ ratio: 0.01, freshNoise: false }) },
        saved.tensors[0]!.data,
      ],
      ['noise', saved.metadata, saved.tensors[0]!.data.map((v, i) => (i === 0 ? 0.5 : v))],
    ];
    for (const [name, metadata, data] of edits) {
      const edited = join(dir, `edited-trigger-${name}.safetensors`);
      await writeSafetensors(edited, [{ name: 'noise', shape: saved.tensors[0]!.shape, data }], metadata);
      await expectVetbenchError(() => loadTrigger(edited, FAMILIES), 'trigger-file-tampered', edited);
    }
  });

  it('refuses a declared resolution or array size beyond the limits before reading the arrays', async () => {
    for (const resolution of [1_000_000, 100_000, 0]) {
      const path = join(dir, `resolution-${resolution}.safetensors`);
      await writeSafetensors(path, [], meta('blended', {}, resolution));
      await expectVetbenchError(() => loadTrigger(path, FAMILIES), 'trigger-file-corrupt', 'outside 1..1024');
    }
    const big = join(dir, 'big-array.safetensors');
    await writeSafetensors(
      big,
      [{ name: 'noise', shape: [3, 64, 64], data: new Float32Array(3 * 64 * 64) }],
      meta('blended', {}, 16),
    );
    await expectVetbenchError(
      () => loadTrigger(big, FAMILIES),
      'trigger-file-corrupt',
      'more than a 16x16 image holds',
    );
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('previews', () => {
  async function size(png: Uint8Array): Promise<[number, number]> {
    const m = await sharp(Buffer.from(png)).metadata();
    return [m.width!, m.height!];
  }

  it('renders clean, triggered, difference and a strip, upscaled to at least 128 px', async () => {
    const R = 32;
    const img = constantImage(R, 0.5);
    const before = img.slice();
    const p = await renderTriggerPreview(make(sigTrigger, R), img, 'k');
    expect(sameBits(img, before)).toBe(true);
    expect([p.scale, p.size]).toEqual([4, 128]);
    expect(await size(p.clean)).toEqual([128, 128]);
    expect(await size(p.triggered)).toEqual([128, 128]);
    expect(await size(p.difference)).toEqual([128, 128]);
    expect(await size(p.strip!)).toEqual([3 * 128 + 8, 128]);
    expect(p.maxChange).toBeCloseTo(
      (60 / 255) * Math.max(...Array.from({ length: R }, (_, j) => Math.sin((2 * Math.PI * 6 * j) / R))),
      6,
    );

    // nearest neighbour: output pixel (x, y) shows input pixel (x / 4, y / 4); difference = |x' - x| * 4 clamped
    const trig = await decodeImage(p.triggered);
    const diff = await decodeImage(p.difference);
    for (const x of [0, 5, 13, 127]) {
      const j = Math.floor(x / 4);
      const s = (60 / 255) * Math.sin((2 * Math.PI * 6 * j) / R);
      expect(trig.data[(7 * 128 + x) * 3]).toBe(Math.round(Math.fround(0.5 + s) * 255));
      expect(diff.data[(7 * 128 + x) * 3]).toBe(
        Math.round(Math.min(1, Math.abs(Math.fround(0.5 + s) - 0.5) * 4) * 255),
      );
    }
    const clean = await decodeImage(p.clean);
    expect(clean.data.every((v) => v === 128)).toBe(true);
  });

  it('keeps the size at 224 and can leave the strip out', async () => {
    const R = 224;
    const p = await renderTriggerPreview(make(badnetTrigger, R), randomImage(R, 1), 'k', { strip: false });
    expect(p.scale).toBe(1);
    expect(await size(p.triggered)).toEqual([224, 224]);
    expect(p.strip).toBeUndefined();
    expect(p.maxChange).toBeGreaterThan(0);
  });
});
