import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import type { ClipGraph, TextInput } from '../clip/clip-forward.js';
import { tokenFeeds, traceTokenInputs } from '../clip/onnx-token-inputs.js';
import { clipParamTensors } from '../clip/clip-params.js';
import type { ClipWeights } from '../clip/weights.js';
import { addGradients } from '../onnx/autodiff.js';
import { Graph } from '../onnx/graph.js';
import { toOnnxModel } from '../onnx/serialize.js';
import { createSession, runSession, type OnnxFeed } from '../onnx/session.js';
import { TraceOps, type Sym } from '../onnx/trace-ops.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Batch, Objective, StepResult, Texts, TrainingExecutor, Vars } from './objective.js';

const GRAD_PREFIX = 'grad:';
const METRIC_PREFIX = 'metric:';

/**
 * Training steps on onnxruntime: the objective is traced once per input shape, its backward pass appended
 * with standard ONNX ops, and the session reused. Frozen weights are initializers inside the session;
 * trainable tensors (including CLIP weights named as variables) are graph inputs.
 */
export class OnnxTrainer implements TrainingExecutor {
  readonly kind = 'onnx' as const;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly params: Map<string, HostTensor> | null;

  constructor(
    private readonly objective: Objective,
    private readonly weights: ClipWeights | null,
  ) {
    this.params = weights ? clipParamTensors(weights) : null;
  }

  /** The traced training (or evaluation) graph as an ONNX model. */
  buildModel(vars: Vars, batch: Batch, texts: Texts, withGradients: boolean): Uint8Array {
    const graph = new Graph();
    const ops = new TraceOps(graph);
    const varSyms: Record<string, Sym> = {};
    for (const [name, t] of Object.entries(vars)) varSyms[name] = graph.addInput(name, t.shape);
    const batchSyms: Record<string, Sym> = {};
    for (const [name, t] of Object.entries(batch)) batchSyms[name] = graph.addInput(name, t.shape);
    let clip: ClipGraph<Sym> | null = null;
    if (this.weights && this.params) {
      const params = this.params;
      const ctx = this.weights.config.text.contextLength;
      const textNames = new Map<TextInput, string>(Object.entries(texts).map(([k, v]) => [v, k]));
      // Trainable CLIP weights are graph inputs (variables); frozen ones are initializers.
      const param = (name: string): Sym => {
        const v = varSyms[name];
        if (v) return v;
        const t = params.get(name);
        if (!t) throw new Error(`model has no parameter '${name}'`);
        return graph.addInitializer(name, t.data, t.shape);
      };
      clip = {
        ops,
        config: this.weights.config,
        tokens: (input) => {
          const name = textNames.get(input);
          if (!name) return null; // fixed texts (closed over by the objective) stay constants
          return traceTokenInputs(graph, ops, param('token_embedding.weight'), name, input.rows, ctx);
        },
        params: { get: param },
      };
    }
    const out = this.objective.build({ ops, clip, vars: varSyms, batch: batchSyms, texts });
    graph.markOutput(out.loss.name, 'loss');
    for (const [name, m] of Object.entries(out.metrics ?? {}))
      graph.markOutput(m.name, `${METRIC_PREFIX}${name}`);
    if (withGradients) {
      const grads = addGradients(graph, out.loss.name, Object.keys(varSyms));
      for (const [name, g] of grads) graph.markOutput(g, `${GRAD_PREFIX}${name}`);
    }
    return toOnnxModel(graph, `vetbench-${this.objective.name}`);
  }

  private key(vars: Vars, batch: Batch, texts: Texts, grads: boolean): string {
    const shapes = (r: Readonly<Record<string, HostTensor>>): [string, readonly number[]][] =>
      Object.entries(r).map(([k, v]) => [k, v.shape]);
    const rows = Object.entries(texts).map(([k, v]) => [k, v.rows]);
    return createHash('sha256')
      .update(JSON.stringify({ v: shapes(vars), b: shapes(batch), rows, grads }))
      .digest('hex');
  }

  private async run(vars: Vars, batch: Batch, texts: Texts, grads: boolean): Promise<StepResult> {
    const key = this.key(vars, batch, texts, grads);
    let session = this.sessions.get(key);
    if (!session) {
      session = createSession(this.buildModel(vars, batch, texts, grads));
      this.sessions.set(key, session);
    }
    const s = await session;
    const feeds: Record<string, OnnxFeed> = { ...vars, ...batch };
    const ctx = this.weights?.config.text.contextLength ?? 0;
    for (const [name, t] of Object.entries(texts)) {
      if (s.inputNames.includes(name)) Object.assign(feeds, tokenFeeds(name, t, ctx));
    }
    const out = await runSession(s, feeds, s.outputNames);
    const metrics: Record<string, HostTensor> = {};
    const gradients: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      if (name.startsWith(METRIC_PREFIX)) metrics[name.slice(METRIC_PREFIX.length)] = t;
      else if (name.startsWith(GRAD_PREFIX)) gradients[name.slice(GRAD_PREFIX.length)] = t;
    }
    return { loss: out.loss!.data[0] as number, metrics, grads: gradients };
  }

  step(vars: Vars, batch: Batch, texts: Texts = {}): Promise<StepResult> {
    return this.run(vars, batch, texts, true);
  }

  async evaluate(vars: Vars, batch: Batch, texts: Texts = {}): Promise<Omit<StepResult, 'grads'>> {
    const { loss, metrics } = await this.run(vars, batch, texts, false);
    return { loss, metrics };
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
