import { VetbenchError } from '../errors.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { decodeImage, type RgbImage } from './decode.js';
import { centerCrop, resizeShortSide } from './resize.js';

/** CLIP's normalisation constants (OpenAI CLIP / open_clip), per RGB channel. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

// torch holds them as float32 tensors, so the arithmetic below uses the float32 values
const MEAN32 = CLIP_MEAN.map((v) => Math.fround(v));
const STD32 = CLIP_STD.map((v) => Math.fround(v));

/** ToTensor's `uint8 -> float32 / 255`; a double quotient rounded to float32 equals the float32 quotient. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

function checkResolution(resolution: number): void {
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new VetbenchError(
      'bad-resolution',
      `image resolution must be a positive integer, got ${resolution}`,
      "use the model's input resolution (e.g. 224)",
    );
  }
}

/**
 * Resize the short side to `resolution` (Pillow bicubic), centre-crop to a square, and return CHW float32
 * in [0, 1] (ToTensor). This is the pixel space where triggers are applied (METHODS 1.3), before
 * `normalizePixels`.
 */
export function toModelPixels(img: RgbImage, resolution: number): Float32Array {
  checkResolution(resolution);
  const square = centerCrop(resizeShortSide(img, resolution), resolution);
  const plane = resolution * resolution;
  const out = new Float32Array(3 * plane);
  const src = square.data;
  for (let p = 0; p < plane; p++) {
    out[p] = UNIT[src[p * 3]!]!;
    out[plane + p] = UNIT[src[p * 3 + 1]!]!;
    out[2 * plane + p] = UNIT[src[p * 3 + 2]!]!;
  }
  return out;
}

/**
 * torchvision `Normalize(CLIP_MEAN, CLIP_STD)` on CHW float32 data: `(x - mean) / std` with float32 rounding
 * after each step, as torch does. `out` may be `chw01` (in place). For a stack of N images pass the plane size
 * (R * R); planes then cycle R, G, B.
 */
export function normalizePixels(
  chw01: Float32Array,
  out: Float32Array = new Float32Array(chw01.length),
  plane: number = chw01.length / 3,
): Float32Array {
  if (out.length !== chw01.length) {
    throw new RangeError(`normalizePixels: output holds ${out.length} values, input ${chw01.length}`);
  }
  const planes = chw01.length / plane;
  if (!Number.isInteger(plane) || plane < 1 || !Number.isInteger(planes) || planes % 3 !== 0) {
    throw new RangeError(`normalizePixels: ${chw01.length} values are not 3N planes of ${plane}`);
  }
  for (let q = 0; q < planes; q++) {
    const m = MEAN32[q % 3]!;
    const s = STD32[q % 3]!;
    const end = (q + 1) * plane;
    // the Float32Array store rounds the quotient; fround rounds the difference first, as torch's sub_ does
    for (let i = q * plane; i < end; i++) out[i] = Math.fround(chw01[i]! - m) / s;
  }
  return out;
}

/** Decode, resize, crop and normalise one image: the model's input, CHW float32 `[3, R, R]`. */
export async function preprocessImage(
  bytesOrPath: Uint8Array | string,
  resolution: number,
  sourceName?: string,
): Promise<Float32Array> {
  checkResolution(resolution);
  const pixels = toModelPixels(await decodeImage(bytesOrPath, sourceName), resolution);
  return normalizePixels(pixels, pixels);
}

/** Stack N CHW images of `[3, R, R]` into one `[N, 3, R, R]` array. */
export function stackPixels(images: readonly Float32Array[], resolution: number): Float32Array {
  checkResolution(resolution);
  const size = 3 * resolution * resolution;
  const out = new Float32Array(images.length * size);
  images.forEach((img, i) => {
    if (img.length !== size) {
      throw new RangeError(
        `stackPixels: image ${i} has ${img.length} values, expected 3x${resolution}x${resolution}`,
      );
    }
    out.set(img, i * size);
  });
  return out;
}

/** Pre-process several files into one normalised batch `[N, 3, R, R]`, in the order given. */
export async function preprocessBatch(
  inputs: readonly (Uint8Array | string)[],
  resolution: number,
): Promise<HostTensor> {
  const images = await Promise.all(inputs.map((input) => preprocessImage(input, resolution)));
  return hostTensor(stackPixels(images, resolution), [inputs.length, 3, resolution, resolution]);
}
