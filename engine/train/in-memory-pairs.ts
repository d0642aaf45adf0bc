import { decodeImage } from '../image/decode.js';
import { normalizePixels, toModelPixels } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Rng } from '../util/rng.js';
import type { PairSource } from './pretrain.js';

export interface CaptionedFile {
  readonly path: string;
  readonly caption: string;
}

/**
 * Image-caption pairs decoded once and kept as [0,1] pixels at the model resolution: right for small
 * datasets such as the demo (a few thousand 32-px images, tens of MB). Training batches get a random
 * translation of up to `shift` pixels (edges replicated), then CLIP normalisation.
 */
export class InMemoryPairs implements PairSource {
  private constructor(
    private readonly pixels01: Float32Array[],
    private readonly captions: string[],
    private readonly resolution: number,
    private readonly shift: number,
  ) {}

  static async fromFiles(
    files: readonly CaptionedFile[],
    resolution: number,
    shift = 2,
  ): Promise<InMemoryPairs> {
    const pixels: Float32Array[] = [];
    for (const f of files) pixels.push(toModelPixels(await decodeImage(f.path), resolution));
    return new InMemoryPairs(
      pixels,
      files.map((f) => f.caption),
      resolution,
      shift,
    );
  }

  get size(): number {
    return this.pixels01.length;
  }

  async load(indices: readonly number[], rng: Rng): Promise<{ pixels: HostTensor; captions: string[] }> {
    const r = this.resolution;
    const plane = r * r;
    const out = new Float32Array(indices.length * 3 * plane);
    indices.forEach((index, n) => {
      const src = this.pixels01[index]!;
      const dx = this.shift ? rng.int(2 * this.shift + 1) - this.shift : 0;
      const dy = this.shift ? rng.int(2 * this.shift + 1) - this.shift : 0;
      const dst = out.subarray(n * 3 * plane, (n + 1) * 3 * plane);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < r; y++) {
          const sy = Math.min(r - 1, Math.max(0, y + dy));
          for (let x = 0; x < r; x++) {
            const sx = Math.min(r - 1, Math.max(0, x + dx));
            dst[c * plane + y * r + x] = src[c * plane + sy * r + sx] as number;
          }
        }
      }
      normalizePixels(dst, dst, plane);
    });
    return {
      pixels: { data: out, shape: [indices.length, 3, r, r] },
      captions: indices.map((i) => this.captions[i]!),
    };
  }
}
