#!/usr/bin/env node
// CBPT on one backdoored demo model (16 shots, test split), CA/ASR/PA before and after; the runs in docs/defenses-cbpt.md.
//   npm run build && nice -n 10 node bench/cbpt-demo.js <model.safetensors> <trigger.safetensors> [seed=N] [param=value ...]
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../dist/engine/eval/backdoor-eval.js';
import { contextClassifier } from '../dist/engine/eval/image-classifier.js';
import { loadTrigger } from '../dist/engine/triggers/trigger-file.js';
import { TRIGGER_FAMILIES } from '../dist/engine/methods/registry.js';
import { cbptDefense } from '../dist/engine/defenses/cbpt/cbpt.js';
import { resolveParams } from '../dist/engine/methods/params.js';
const [model, triggerPath, ...kv] = process.argv.slice(2);
const given = Object.fromEntries(kv.filter((s) => !s.startsWith('seed=')).map((s) => s.split('=')));
const seed = Number((kv.find((s) => s.startsWith('seed=')) ?? 'seed=1').slice(5));
const weights = await loadClipWeights(resolveModelPath(model));
const r = await resolveDataset('demo');
const dataset = await importDataset(r.manifest ?? r.root);
const trigger = await loadTrigger(triggerPath, TRIGGER_FAMILIES, {
  resolution: weights.config.vision.imageResolution,
});
const target = dataset.classes.findIndex((c) => c.name === 'banana');
const enc = await createEncoder(weights);
const before = await evaluateBackdoor(enc, dataset, { trigger, target });
console.log('before', before.ca.toFixed(2), before.metrics.asr.toFixed(2));
const params = resolveParams('cbpt', cbptDefense.params, given);
const t0 = Date.now();
const res = await cbptDefense.run({ weights, dataset, shots: 16, seed, log: (l) => console.log(l) }, params);
console.log('wall', ((Date.now() - t0) / 1000).toFixed(1), 's');
const clf = contextClassifier(
  enc,
  dataset.classes.map((c) => c.name),
  res.output.file.tensors.context,
  'cbpt',
);
const after = await evaluateBackdoor(enc, dataset, { trigger, target, classifier: clf });
console.log('after', after.ca.toFixed(2), after.metrics.asr.toFixed(2), 'pa', after.metrics.pa.toFixed(2));
await enc.dispose();
