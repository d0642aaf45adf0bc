import type { ClipEncoder } from '../clip/clip-encoder.js';
import { ClipTokenizer } from '../clip/tokenizer.js';
import { contextPromptText, type ImageClassifier } from '../eval/image-classifier.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { COCOOP_TENSORS, metaNetForward } from './cocoop-learner.js';

/** Text rows encoded per call: images are chunked so that images x classes stays near this. */
const TEXT_ROWS_PER_CALL = 1024;

function normaliseRows(data: Float32Array, width: number): void {
  for (let r = 0; r < data.length / width; r++) {
    let s = 0;
    for (let j = 0; j < width; j++) s += data[r * width + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < width; j++) data[r * width + j] = data[r * width + j]! * inv;
  }
}

/**
 * CoCoOp evaluation (METHODS 3.3): for each image, the unit image feature f feeds the meta-net, its output is
 * added to every context vector, and the class prompts "X ... X <class>." are encoded with that per-image
 * context; logits = exp(logit_scale) cos(f, t_c). The image tower is the plain model's, so a malicious file
 * can only act through the text head it builds per image. TrojVQA's text key goes after the context, before
 * the class name (as for the other context prompts).
 */
export function cocoopClassifier(
  encoder: ClipEncoder,
  classNames: readonly string[],
  learner: Readonly<Record<string, HostTensor>>,
  description: string,
): ImageClassifier {
  const context = learner[COCOOP_TENSORS.context]!;
  const [m, width] = context.shape as [number, number];
  const { contextLength } = encoder.weights.config.text;
  const classes = classNames.length;
  const tokenizer = ClipTokenizer.default();
  const idsFor = new Map<string, Int32Array>();
  const classIds = (key: string): Int32Array => {
    let ids = idsFor.get(key);
    if (!ids) {
      ids = tokenizer.tokenizeBatch(
        classNames.map((c) => contextPromptText(m, c, key)),
        contextLength,
      );
      idsFor.set(key, ids);
    }
    return ids;
  };
  const scale = Math.exp(encoder.weights.logitScale);
  return {
    classNames,
    description,
    async logits(pixels, opts = {}) {
      const n = pixels.shape[0] as number;
      const image = await encoder.encode({ pixels, outputs: ['image_embeds'] });
      const e = image.image_embeds!.shape[1] as number;
      const features = Float32Array.from(image.image_embeds!.data);
      normaliseRows(features, e);
      const shifts = metaNetForward({ data: features, shape: [n, e] }, learner);
      const ids = classIds(opts.textKey ?? '');
      const logits = new Float32Array(n * classes);
      const perCall = Math.max(1, Math.floor(TEXT_ROWS_PER_CALL / classes));
      for (let start = 0; start < n; start += perCall) {
        const count = Math.min(perCall, n - start);
        const rows = count * classes;
        const ctx = new Float32Array(rows * m * width);
        const tokenIds = new Int32Array(rows * contextLength);
        for (let i = 0; i < count; i++) {
          const shift = shifts.data.subarray((start + i) * width, (start + i + 1) * width);
          for (let c = 0; c < classes; c++) {
            const row = i * classes + c;
            for (let k = 0; k < m; k++)
              for (let j = 0; j < width; j++)
                ctx[(row * m + k) * width + j] = context.data[k * width + j]! + shift[j]!;
            tokenIds.set(ids.subarray(c * contextLength, (c + 1) * contextLength), row * contextLength);
          }
        }
        const out = await encoder.encode({
          text: { ids: tokenIds, rows },
          context: { data: ctx, shape: [rows, m, width] },
          outputs: ['text_embeds'],
        });
        const text = Float32Array.from(out.text_embeds!.data);
        normaliseRows(text, e);
        for (let i = 0; i < count; i++) {
          const f = features.subarray((start + i) * e, (start + i + 1) * e);
          for (let c = 0; c < classes; c++) {
            let dot = 0;
            const t = (i * classes + c) * e;
            for (let j = 0; j < e; j++) dot += f[j]! * text[t + j]!;
            logits[(start + i) * classes + c] = scale * dot;
          }
        }
      }
      return { data: logits, shape: [n, classes] };
    },
  };
}
