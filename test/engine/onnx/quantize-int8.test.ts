import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { OnnxClip } from '../../../engine/clip/onnx-clip.js';
import { quantizeColumns } from '../../../engine/onnx/quantize-int8.js';
import { Rng } from '../../../engine/util/rng.js';
import { FIXTURE_DIR } from '../../helpers/compare.js';

function cosineRows(a: Float32Array, b: Float32Array, rows: number): number[] {
  const w = a.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = r * w; j < (r + 1) * w; j++) {
      dot += a[j]! * b[j]!;
      na += a[j]! ** 2;
      nb += b[j]! ** 2;
    }
    return dot / Math.sqrt(na * nb);
  });
}

describe('int8 image tower (dynamic activation quantisation)', () => {
  it('quantises each weight column symmetrically within half a step', () => {
    const data = Float32Array.of(1, -0.5, 0.25, 0.5, -2, 0); // [3, 2]: columns (1, 0.25, -2) and (-0.5, 0.5, 0)
    const { q, scale } = quantizeColumns(data, 3, 2);
    expect(Array.from(scale)).toEqual([Math.fround(2 / 127), Math.fround(0.5 / 127)]);
    for (let i = 0; i < data.length; i++)
      expect(Math.abs(q[i]! * scale[i % 2]! - data[i]!)).toBeLessThanOrEqual(scale[i % 2]! / 2 + 1e-7);
    expect(Array.from(q)).toEqual([64, -127, 16, 127, -127, 0]);
  });

  it('runs integer matmuls in the image graph only, with embeddings close to fp32', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const r = weights.config.vision.imageResolution;
    const rng = new Rng(2);
    const pixels = {
      data: Float32Array.from({ length: 6 * 3 * r * r }, () => rng.normal()),
      shape: [6, 3, r, r],
    };
    const model = new TextDecoder('latin1').decode(
      new OnnxClip(weights, 'int8').buildModel({ pixels, outputs: ['image_embeds'] }),
    );
    expect(model).toContain('MatMulInteger');
    expect(model).toContain('DynamicQuantizeLinear');
    const text = new TextDecoder('latin1').decode(
      new OnnxClip(weights, 'int8').buildModel({
        text: { ids: new Int32Array(77).fill(1), rows: 1 },
        outputs: ['text_embeds'],
      }),
    );
    expect(text).not.toContain('MatMulInteger'); // class heads stay fp32

    const fp32 = await createEncoder(weights);
    const int8 = await createEncoder(weights, 'onnx', 'int8');
    expect(int8.executor).toBe('onnxruntime-int8');
    const a = (await fp32.encode({ pixels, outputs: ['image_embeds'] })).image_embeds!;
    const b = (await int8.encode({ pixels, outputs: ['image_embeds'] })).image_embeds!;
    expect(b.shape).toEqual(a.shape);
    expect(b.data).not.toEqual(a.data); // really a different computation
    for (const c of cosineRows(a.data, b.data, 6)) expect(c).toBeGreaterThan(0.99);
    await fp32.dispose();
    await int8.dispose();
  });
});
