// 100 consecutive ViT-B/32 forward calls at batch 32 on onnxruntime: does the process memory grow?
// Usage: npm run build && node bench/forward-memory.js   (writes bench/results/forward-memory.md)
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { initClipWeights } from '../dist/engine/clip/init-weights.js';
import { OnnxClip } from '../dist/engine/clip/onnx-clip.js';
import { Rng } from '../dist/engine/util/rng.js';

const CALLS = 100;
const BATCH = 32;
const config = {
  embedDim: 512,
  vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
};
const weights = initClipWeights(config, new Rng(1));
const rng = new Rng(2);
const pixels = {
  data: Float32Array.from({ length: BATCH * 3 * 224 * 224 }, () => rng.normal()),
  shape: [BATCH, 3, 224, 224],
};
const clip = new OnnxClip(weights);
const load = loadavg()[0];
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const marks = {};
const started = Date.now();
for (let i = 1; i <= CALLS; i++) {
  await clip.encode({ pixels, outputs: ['image_embeds'] });
  if ([1, 2, 10, 25, 50, 75, 100].includes(i)) marks[i] = Number(rssMiB().toFixed(1));
}
const seconds = (Date.now() - started) / 1000;
const growthAfter10 = marks[100] - marks[10];
const lines = [
  '# Memory of repeated ViT-B/32 forward calls (onnxruntime, batch 32)',
  '',
  'Reproduce: `npm run build && node bench/forward-memory.js`',
  '',
  `Date ${new Date().toISOString()}; ${cpus()[0]?.model}, ${cpus().length} cores; 1-min load at start ${load.toFixed(2)}.`,
  `ViT-B/32 image tower (random OpenAI-style init), ${CALLS} consecutive \`OnnxClip.encode\` calls on the same [${BATCH}, 3, 224, 224] batch, ${seconds.toFixed(0)} s in all.`,
  '',
  '| call | RSS MiB |',
  '|---|---|',
  ...Object.entries(marks).map(([k, v]) => `| ${k} | ${v} |`),
  '',
  `Growth from call 10 to call ${CALLS}: ${growthAfter10.toFixed(1)} MiB (${Math.abs(growthAfter10) < 50 ? 'no growth' : 'GROWS'}).`,
  '',
];
writeFileSync(new URL('./results/forward-memory.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
await clip.dispose();
