// The BadCLIP prompt attack on a slice of the demo data (few shots to learn, 10 test images per class), to explore
// its parameters in a minute or two each. Usage:
//   npm run build && nice -n 10 node bench/attacks-prompt-slice.js '{"shots":4,"epsilon":16,"warmupSign":true}' [testPerClass]
// Prints one JSON line: zero-shot and prompted CA/ASR under the learned trigger, epoch losses, seconds.
const d = new URL('../dist/engine', import.meta.url).href;
const { badclipPromptAttack } = await import(`${d}/attacks/badclip-prompt.js`);
const { createEncoder } = await import(`${d}/clip/clip-encoder.js`);
const { loadClipWeights } = await import(`${d}/clip/load-weights.js`);
const { resolveModelPath } = await import(`${d}/clip/resolve-model.js`);
const { importDataset } = await import(`${d}/datasets/import-dataset.js`);
const { resolveDataset } = await import(`${d}/datasets/resolve.js`);
const { evaluateBackdoor } = await import(`${d}/eval/backdoor-eval.js`);
const { resolveParams } = await import(`${d}/methods/params.js`);
const { cocoopClassifier } = await import(`${d}/prompts/cocoop-classifier.js`);
const given = JSON.parse(process.argv[2] ?? '{}');
const testPer = Number(process.argv[3] ?? 10);
const full = await importDataset((await resolveDataset('demo')).root);
const per = new Map();
const items = full.items.filter((it) => {
  if (it.split !== 'test') return true;
  const s = per.get(it.label) ?? 0;
  per.set(it.label, s + 1);
  return s < testPer;
});
const dataset = { ...full, items };
const weights = await loadClipWeights(resolveModelPath('demo'));
const target = dataset.classes.findIndex((c) => c.name === 'banana');
const attack = badclipPromptAttack();
const params = resolveParams(attack.id, attack.params, given);
const t0 = Date.now();
const result = await attack.run({ weights, dataset, target, seed: 1, log: (l) => console.error(l) }, params);
const enc = await createEncoder(weights);
const names = dataset.classes.map((c) => c.name);
const z = await evaluateBackdoor(enc, dataset, { trigger: result.trigger, target });
const p = await evaluateBackdoor(enc, dataset, {
  trigger: result.trigger,
  target,
  classifier: cocoopClassifier(enc, names, result.tensors, 'x'),
});
console.log(
  JSON.stringify({
    given,
    zs: { ca: z.metrics.ca, asr: z.metrics.asr },
    prompt: { ca: p.metrics.ca, asr: p.metrics.asr, n: p.metrics.n_poisoned },
    losses: result.epochLosses.map((l) => +l.toFixed(3)),
    s: (Date.now() - t0) / 1000,
  }),
);
await enc.dispose();
