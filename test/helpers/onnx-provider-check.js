// Runs the fixture forward pass and the RVPT training step on onnxruntime with whatever providers the
// environment selects (VETBENCH_ONNX_PROVIDERS), and prints relative errors against the PyTorch references as
// JSON. Spawned by test/electron/onnx-providers.test.ts so a provider's environment stays in a child process.
import { readFileSync } from 'node:fs';
import { loadClipWeights } from '../../dist/engine/clip/load-weights.js';
import { OnnxClip } from '../../dist/engine/clip/onnx-clip.js';
import { rvptObjective } from '../../dist/engine/defenses/rvpt/rvpt-objective.js';
import { onnxRuntimeInfo } from '../../dist/engine/onnx/session.js';
import { readNpyFloat32, readNpyInt32 } from '../../dist/engine/tensor/npy.js';
import { oneHot } from '../../dist/engine/tensor/ops.js';
import { OnnxTrainer } from '../../dist/engine/train/onnx-trainer.js';

const dir = new URL('../../../shared/fixtures/clip-tiny-a/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8'));
const ref = (n) => readNpyFloat32(`${dir}${n}.npy`);
const rel = (a, r) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    d = Math.max(d, Math.abs(a[i] - r[i]));
    m = Math.max(m, Math.abs(r[i]));
  }
  return d / m;
};

const info = await onnxRuntimeInfo();
const weights = await loadClipWeights(`${dir}model.safetensors`);
const ids = await readNpyInt32(`${dir}input_ids.npy`);
const clip = new OnnxClip(weights);
const names = [
  'image_embeds',
  'text_embeds',
  'logits_per_image',
  'vision_cls_per_layer',
  'vision_last_attention',
];
const out = await clip.encode({
  pixels: await ref('pixels'),
  text: { ids: ids.data, rows: ids.shape[0] },
  outputs: names,
});
const errors = {};
for (const n of names) errors[n] = rel(out[n].data, (await ref(n)).data);

const { D, alpha, labels, text_rows } = expected.rvpt;
const textEmbeds = await ref('text_embeds');
const w = textEmbeds.shape[1];
const classText = {
  data: new Float32Array(text_rows.flatMap((r) => [...textEmbeds.data.subarray(r * w, (r + 1) * w)])),
  shape: [text_rows.length, w],
};
const trainer = new OnnxTrainer(rvptObjective({ depth: D, alpha, logitScale: weights.logitScale }), weights);
const step = await trainer.step(
  { prompts: await ref('rvpt_prompts') },
  { pixels: await ref('pixels'), targets: oneHot(labels, text_rows.length), classText },
);
errors.rvpt_loss = Math.abs(step.loss - expected.rvpt.loss) / expected.rvpt.loss;
errors.rvpt_grad_prompts = rel(step.grads.prompts.data, (await ref('rvpt_grad_prompts')).data);
await trainer.dispose();
await clip.dispose();
console.log(JSON.stringify({ providers: info.providers, errors }));
