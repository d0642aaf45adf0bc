import * as tf from '@tensorflow/tfjs';
import type { ClipGraph } from '../clip/clip-forward.js';
import { TfjsClip, toHost, toTf } from '../clip/tfjs-clip.js';
import type { ClipWeights } from '../clip/weights.js';
import { TfjsOps } from '../tensor/tfjs-ops.js';
import type { Batch, Objective, StepResult, Texts, TrainingExecutor, Vars } from './objective.js';

/** Training steps eagerly on TF.js with autodiff: the reference executor and the fallback. */
export class TfjsTrainer implements TrainingExecutor {
  readonly kind = 'tfjs' as const;
  private readonly model: TfjsClip | null;
  private readonly ops: TfjsOps;

  constructor(
    private readonly objective: Objective,
    weights: ClipWeights | null,
  ) {
    this.model = weights ? new TfjsClip(weights) : null;
    this.ops = this.model ? this.model.ops : new TfjsOps();
  }

  private clipWith(vars: Record<string, tf.Tensor>): ClipGraph<tf.Tensor> | null {
    if (!this.model) return null;
    const base = this.model.graph;
    return { ...base, params: { get: (name) => vars[name] ?? base.params.get(name) } };
  }

  private async run(varsHost: Vars, batchHost: Batch, texts: Texts, withGrads: boolean): Promise<StepResult> {
    const names = Object.keys(varsHost);
    const varTensors = names.map((n) => toTf(varsHost[n]!));
    const batch: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(batchHost)) batch[k] = toTf(v);
    let metricTensors: Record<string, tf.Tensor> = {};
    const program = (...xs: tf.Tensor[]): tf.Scalar => {
      const vars: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (vars[n] = xs[i]!));
      const out = this.objective.build({ ops: this.ops, clip: this.clipWith(vars), vars, batch, texts });
      metricTensors = {};
      for (const [k, m] of Object.entries(out.metrics ?? {})) metricTensors[k] = tf.keep(m);
      return out.loss as tf.Scalar;
    };
    let loss: tf.Scalar;
    let grads: tf.Tensor[] = [];
    if (withGrads) {
      const r = tf.valueAndGrads(program)(varTensors);
      loss = r.value;
      grads = r.grads;
    } else {
      loss = tf.tidy(() => program(...varTensors));
    }
    const result: StepResult = {
      loss: (await loss.data())[0] as number,
      metrics: Object.fromEntries(
        await Promise.all(Object.entries(metricTensors).map(async ([k, t]) => [k, await toHost(t)])),
      ),
      grads: Object.fromEntries(await Promise.all(grads.map(async (g, i) => [names[i]!, await toHost(g)]))),
    };
    tf.dispose([loss, ...grads, ...varTensors, ...Object.values(batch), ...Object.values(metricTensors)]);
    return result;
  }

  step(vars: Vars, batch: Batch, texts: Texts = {}): Promise<StepResult> {
    return this.run(vars, batch, texts, true);
  }

  async evaluate(vars: Vars, batch: Batch, texts: Texts = {}): Promise<Omit<StepResult, 'grads'>> {
    const { loss, metrics } = await this.run(vars, batch, texts, false);
    return { loss, metrics };
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
  }
}
