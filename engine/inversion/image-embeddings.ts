import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { DatasetItem } from '../datasets/dataset.js';
import type { ImageLoader } from '../datasets/image-loader.js';
import { normalizePixels } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';

/** E_I of [0,1] pixels [N,3,R,R] (normalised on a copy), [N, E]. */
export async function embedPixels01(encoder: ClipEncoder, pixels01: HostTensor): Promise<HostTensor> {
  const r = pixels01.shape[2] as number;
  const normalized = normalizePixels(pixels01.data, new Float32Array(pixels01.data.length), r * r);
  const out = await encoder.encode({
    pixels: { data: normalized, shape: pixels01.shape },
    outputs: ['image_embeds'],
  });
  return out.image_embeds!;
}

/** v + delta [N,3,R,R] (delta already keeps it in [0,1]). */
export function addPerturbation(pixels01: HostTensor, delta: HostTensor): HostTensor {
  const out = new Float32Array(pixels01.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (pixels01.data[i] as number) + (delta.data[i] as number);
  return { data: out, shape: pixels01.shape };
}

export interface EmbeddedSample {
  /** The items that decoded, in the order given. */
  readonly items: readonly DatasetItem[];
  readonly labels: readonly number[];
  /** [N, E] */
  readonly embeds: HostTensor;
  readonly failed: readonly { path: string; reason: string }[];
}

/** Clean embeddings of a sample, batch by batch; undecodable images are left out and reported. */
export async function embedSample(
  encoder: ClipEncoder,
  loader: ImageLoader,
  items: readonly DatasetItem[],
  batchSize: number,
): Promise<EmbeddedSample> {
  const kept: DatasetItem[] = [];
  const rows: Float32Array[] = [];
  const failed: { path: string; reason: string }[] = [];
  let width = 0;
  for await (const batch of loader.batches(items, batchSize, { normalize: false })) {
    for (const f of batch.failed) failed.push({ path: f.item.relativePath, reason: f.reason });
    if (batch.items.length === 0) continue;
    const e = await embedPixels01(encoder, batch.pixels);
    width = e.shape[1] as number;
    rows.push(e.data);
    kept.push(...batch.items);
  }
  const data = new Float32Array(kept.length * width);
  let offset = 0;
  for (const r of rows) {
    data.set(r, offset);
    offset += r.length;
  }
  return {
    items: kept,
    labels: kept.map((i) => i.label),
    embeds: { data, shape: [kept.length, width] },
    failed,
  };
}
