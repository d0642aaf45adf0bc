import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipLogits, encodeText, type TextInput } from '../../engine/clip/clip-forward.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { rvptObjective } from '../../engine/defenses/rvpt/rvpt-objective.js';
import { DIFFERENTIABLE_OPS } from '../../engine/onnx/autodiff.js';
import { initTfBackend } from '../../engine/tensor/backend.js';
import { crossEntropyWithTargets, oneHot, type TensorOps } from '../../engine/tensor/ops.js';
import type { Objective, ObjectiveOutput, TrainingExecutor } from '../../engine/train/objective.js';
import { OnnxTrainer } from '../../engine/train/onnx-trainer.js';
import { TfjsTrainer } from '../../engine/train/tfjs-trainer.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { fixtureArray, fixtureText, pickRows } from '../helpers/fixture.js';
import { expectClose, FIXTURE_DIR, relativeError } from '../helpers/compare.js';
import { logit0PixelObjective } from '../helpers/logit0-objective.js';

const expected = JSON.parse(readFileSync(`${FIXTURE_DIR}expected.json`, 'utf8')) as {
  rvpt: { D: number; alpha: number; labels: number[]; text_rows: number[]; loss: number };
  ctx: { labels: number[]; ce: number };
};
const ref = fixtureArray;
const textInput = fixtureText;
const rows = pickRows;

describe('CLIP gradients through the training-step API equal PyTorch on both executors', () => {
  let weights: ClipWeights;
  let text: TextInput;
  let ctxText: TextInput;
  beforeAll(async () => {
    await initTfBackend('wasm');
    weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    text = await textInput('input_ids');
    ctxText = await textInput('ctx_input_ids');
  });

  const pixelObjective = (): Objective => logit0PixelObjective(text, weights.logitScale);
  const contextObjective = (): Objective => ({
    name: 'ctx',
    build<T>({
      ops,
      clip,
      vars,
      batch,
    }: {
      ops: TensorOps<T>;
      clip: import('../../engine/clip/clip-forward.js').ClipGraph<T> | null;
      vars: Readonly<Record<string, T>>;
      batch: Readonly<Record<string, T>>;
    }): ObjectiveOutput<T> {
      const txt = encodeText(clip!, ctxText, { vectors: vars.ctx! });
      return {
        loss: crossEntropyWithTargets(
          ops,
          clipLogits(ops, batch.image!, txt, weights.logitScale),
          batch.targets!,
        ),
      };
    },
  });

  const executors: [string, (o: Objective) => TrainingExecutor][] = [
    ['onnxruntime', (o) => new OnnxTrainer(o, weights)],
    ['tfjs-wasm', (o) => new TfjsTrainer(o, weights)],
  ];

  it.each(executors)('%s: d sum logits[:,0] / d pixels', async (_name, make) => {
    const trainer = make(pixelObjective());
    const r = await trainer.step({ pixels: await ref('pixels') }, {});
    expectClose(r.grads.pixels!, await ref('grad_pixels_logit0'), 1e-3, 'grad pixels');
    await trainer.dispose();
  });

  it.each(executors)('%s: RVPT loss and prompt gradient', async (_name, make) => {
    const { D, alpha, labels, text_rows } = expected.rvpt;
    const trainer = make(rvptObjective({ depth: D, alpha, logitScale: weights.logitScale }));
    const batch = {
      pixels: await ref('pixels'),
      targets: oneHot(labels, text_rows.length),
      classText: rows(await ref('text_embeds'), text_rows),
    };
    const r = await trainer.step({ prompts: await ref('rvpt_prompts') }, batch);
    expect(Math.abs(r.loss - expected.rvpt.loss) / expected.rvpt.loss).toBeLessThan(1e-4);
    expectClose(r.grads.prompts!, await ref('rvpt_grad_prompts'), 1e-3, 'grad prompts');
    // Same session reused for a second step with other values.
    const again = await trainer.step({ prompts: await ref('rvpt_prompts') }, batch);
    expect(again.loss).toBeCloseTo(r.loss, 6);
    await trainer.dispose();
  });

  it.each(executors)('%s: class-wise context CE and gradient', async (_name, make) => {
    const trainer = make(contextObjective());
    const r = await trainer.step(
      { ctx: await ref('ctx_vectors') },
      { image: await ref('image_embeds'), targets: oneHot(expected.ctx.labels, 4) },
    );
    expect(Math.abs(r.loss - expected.ctx.ce) / expected.ctx.ce).toBeLessThan(1e-4);
    expectClose(r.grads.ctx!, await ref('ctx_grad'), 1e-3, 'grad ctx');
    await trainer.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Finite differences over small random programs: every backward rule of the ONNX autodiff.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function randomTensor(shape: number[], rand: () => number, lo = -1, hi = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => lo + (hi - lo) * rand()), shape };
}

interface OpCase {
  name: string;
  covers: string[];
  vars: Record<string, number[]>;
  positive?: boolean;
  program<T>(ops: TensorOps<T>, v: Readonly<Record<string, T>>): T;
}

const cases: OpCase[] = [
  {
    name: 'add/sub broadcast',
    covers: ['Add', 'Sub'],
    vars: { a: [2, 3, 4], b: [3, 1] },
    program: (o, v) => o.sub(o.add(v.a!, v.b!), o.mul(v.b!, v.b!)),
  },
  {
    name: 'mul/div broadcast',
    covers: ['Mul', 'Div'],
    vars: { a: [2, 3], b: [3] },
    positive: true,
    program: (o, v) => o.div(o.mul(v.a!, v.b!), o.add(v.b!, o.scalar(0.5))),
  },
  {
    name: 'neg/exp/log/sqrt',
    covers: ['Neg', 'Exp', 'Log', 'Sqrt'],
    vars: { a: [5] },
    positive: true,
    program: (o, v) => o.add(o.neg(o.exp(v.a!)), o.mul(o.log(v.a!), o.sqrt(v.a!))),
  },
  {
    name: 'sigmoid/relu/clamp',
    covers: ['Sigmoid', 'Relu', 'Clip'],
    vars: { a: [3, 4] },
    program: (o, v) => o.add(o.sigmoid(v.a!), o.add(o.relu(v.a!), o.clamp(v.a!, -0.5, 0.5))),
  },
  {
    name: 'reshape/transpose',
    covers: ['Reshape', 'Transpose'],
    vars: { a: [2, 3, 4] },
    program: (o, v) => o.transpose(o.reshape(v.a!, [6, 4]), [1, 0]),
  },
  {
    name: 'slice/concat/split',
    covers: ['Slice', 'Concat', 'Split'],
    vars: { a: [3, 5], b: [3, 2] },
    program: (o, v) => {
      const [p, q] = o.split(o.concat([v.a!, v.b!], 1), [4, 3], 1);
      return o.mul(o.slice(p!, [1, 1], [2, -1]), o.slice(q!, [0, 0], [2, 3]));
    },
  },
  {
    name: 'reductions',
    covers: ['ReduceSum', 'ReduceMean', 'ReduceMax'],
    vars: { a: [3, 4, 2] },
    program: (o, v) => o.add(o.mul(o.sum(v.a!, [1], true), o.mean(v.a!, [2], true)), o.max(v.a!, [0], false)),
  },
  {
    name: 'batched matMul',
    covers: ['MatMul'],
    vars: { a: [2, 3, 4], b: [2, 4, 5] },
    program: (o, v) => o.matMul(v.a!, v.b!),
  },
  {
    name: 'linear with trainable weight',
    covers: ['MatMul', 'Transpose'],
    vars: { x: [2, 3, 4], w: [5, 4], bias: [5] },
    program: (o, v) => o.linear(v.x!, v.w!, v.bias!),
  },
  {
    name: 'layer norm',
    covers: ['LayerNormalization'],
    vars: { x: [2, 3, 6], g: [6], b: [6] },
    program: (o, v) => o.layerNorm(v.x!, v.g!, v.b!, 1e-5),
  },
  {
    name: 'softmax/logSoftmax',
    covers: ['Softmax', 'LogSoftmax'],
    vars: { a: [3, 5] },
    program: (o, v) => o.add(o.softmax(v.a!), o.logSoftmax(o.mul(v.a!, o.scalar(2)))),
  },
  {
    name: 'gather rows (embedding)',
    covers: ['Gather'],
    vars: { table: [6, 3] },
    program: (o, v) => o.gatherRows(v.table!, Int32Array.of(1, 4, 1, 0), [2, 2]),
  },
];

function caseObjective(c: OpCase, weightsSeed: number): Objective {
  return {
    name: `fd-${c.name}`,
    build<T>({ ops, vars }: { ops: TensorOps<T>; vars: Readonly<Record<string, T>> }): ObjectiveOutput<T> {
      const y = c.program(ops, vars);
      const shape = ops.shape(y);
      // A fixed random weighting so every output element matters differently.
      const r = ops.constant(randomTensor([...shape], rng(weightsSeed)));
      return {
        loss: ops.sum(
          ops.mul(y, r),
          shape.map((_, i) => i),
        ),
      };
    },
  };
}

describe('ONNX backward rules against finite differences and TF.js autodiff', () => {
  beforeAll(async () => {
    await initTfBackend('wasm');
  });
  const trainers: TrainingExecutor[] = [];
  afterAll(async () => {
    for (const t of trainers) await t.dispose();
  });

  it('every differentiable op is covered by a case', () => {
    const covered = new Set(cases.flatMap((c) => c.covers).concat(['Identity']));
    expect(DIFFERENTIABLE_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it.each(cases)('$name', async (c) => {
    const rand = rng(c.name.length * 7919);
    const vars: Record<string, HostTensor> = {};
    for (const [k, shape] of Object.entries(c.vars))
      vars[k] = randomTensor(shape, rand, c.positive ? 0.5 : -1, c.positive ? 2 : 1);
    const onnx = new OnnxTrainer(caseObjective(c, 42), null);
    const tfjs = new TfjsTrainer(caseObjective(c, 42), null);
    trainers.push(onnx, tfjs);
    const analytic = await onnx.step(vars, {});
    const reference = await tfjs.step(vars, {});
    expect(Math.abs(analytic.loss - reference.loss)).toBeLessThan(
      1e-4 * Math.max(1, Math.abs(reference.loss)),
    );
    for (const k of Object.keys(vars)) {
      expect(
        relativeError(analytic.grads[k]!.data, reference.grads[k]!.data),
        `${k} onnx vs tfjs`,
      ).toBeLessThan(1e-4);
      // Central differences on a few coordinates (float32, so h is not tiny).
      const h = 1e-2;
      const g = analytic.grads[k]!.data;
      const scale = Math.max(...Array.from(g, Math.abs), 1e-3);
      for (let trial = 0; trial < 5; trial++) {
        const i = Math.floor(rand() * g.length);
        const shifted = (delta: number): Record<string, HostTensor> => {
          const data = Float32Array.from(vars[k]!.data);
          data[i] = (data[i] as number) + delta;
          return { ...vars, [k]: { data, shape: vars[k]!.shape } };
        };
        const [plus, minus] = [shifted(h), shifted(-h)];
        const fd = ((await onnx.evaluate(plus, {})).loss - (await onnx.evaluate(minus, {})).loss) / (2 * h);
        expect(Math.abs(fd - (g[i] as number)) / scale, `${k}[${i}] fd ${fd} vs ${g[i]}`).toBeLessThan(2e-2);
      }
    }
  });
});
