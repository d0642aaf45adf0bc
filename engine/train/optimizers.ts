import type { HostTensor } from '../tensor/host-tensor.js';

/**
 * Optimizers that update host tensors in place, with PyTorch's exact update rules so runs are comparable
 * with reference implementations. State is plain arrays so checkpoints can save and restore it.
 */
export interface ParamGroupOptions {
  /** Weight decay for this parameter (0 for norms, biases, logit_scale by the usual convention). */
  readonly weightDecay: number;
}

export interface OptimizerState {
  readonly kind: 'sgd' | 'adamw';
  readonly step: number;
  readonly buffers: Readonly<Record<string, readonly Float32Array[]>>;
}

export interface Optimizer {
  /** Applies one update with the given learning rate; grads are read, params are changed in place. */
  update(params: Record<string, HostTensor>, grads: Readonly<Record<string, HostTensor>>, lr: number): void;
  state(): OptimizerState;
  restore(state: OptimizerState): void;
}

export interface SgdOptions {
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly decayFor?: (name: string) => number;
}

/** torch.optim.SGD (dampening 0, no Nesterov): g += wd*p; buf = m*buf + g; p -= lr*buf. */
export class Sgd implements Optimizer {
  private readonly momentum: number;
  private readonly decay: (name: string) => number;
  private buffers = new Map<string, Float32Array>();
  private steps = 0;

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0;
    const wd = options.weightDecay ?? 0;
    this.decay = options.decayFor ?? (() => wd);
  }

  update(params: Record<string, HostTensor>, grads: Readonly<Record<string, HostTensor>>, lr: number): void {
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) continue;
      const wd = this.decay(name);
      let buf = this.buffers.get(name);
      const first = !buf;
      if (!buf) {
        buf = new Float32Array(p.data.length);
        this.buffers.set(name, buf);
      }
      const pd = p.data;
      const gd = g.data;
      for (let i = 0; i < pd.length; i++) {
        const gi = (gd[i] as number) + wd * (pd[i] as number);
        const b = this.momentum === 0 ? gi : first ? gi : this.momentum * (buf[i] as number) + gi;
        buf[i] = b;
        pd[i] = (pd[i] as number) - lr * b;
      }
    }
    this.steps++;
  }

  state(): OptimizerState {
    return {
      kind: 'sgd',
      step: this.steps,
      buffers: Object.fromEntries([...this.buffers].map(([k, v]) => [k, [v.slice()]])),
    };
  }

  restore(state: OptimizerState): void {
    if (state.kind !== 'sgd') throw new Error(`cannot restore ${state.kind} state into SGD`);
    this.steps = state.step;
    this.buffers = new Map(Object.entries(state.buffers).map(([k, v]) => [k, Float32Array.from(v[0] ?? [])]));
  }
}

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly decayFor?: (name: string) => number;
}

/** torch.optim.AdamW: p *= 1 - lr*wd; Adam moments with bias correction; p -= lr * m^ / (sqrt(v^) + eps). */
export class AdamW implements Optimizer {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly decay: (name: string) => number;
  private moments = new Map<string, [Float32Array, Float32Array]>();
  private steps = 0;

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    const wd = options.weightDecay ?? 0.01;
    this.decay = options.decayFor ?? (() => wd);
  }

  update(params: Record<string, HostTensor>, grads: Readonly<Record<string, HostTensor>>, lr: number): void {
    this.steps++;
    const c1 = 1 - this.beta1 ** this.steps;
    const c2 = 1 - this.beta2 ** this.steps;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) continue;
      let mv = this.moments.get(name);
      if (!mv) {
        mv = [new Float32Array(p.data.length), new Float32Array(p.data.length)];
        this.moments.set(name, mv);
      }
      const [m, v] = mv;
      const shrink = 1 - lr * this.decay(name);
      const pd = p.data;
      const gd = g.data;
      for (let i = 0; i < pd.length; i++) {
        const gi = gd[i] as number;
        const mi = this.beta1 * (m[i] as number) + (1 - this.beta1) * gi;
        const vi = this.beta2 * (v[i] as number) + (1 - this.beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        pd[i] = (pd[i] as number) * shrink - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + this.eps);
      }
    }
  }

  state(): OptimizerState {
    return {
      kind: 'adamw',
      step: this.steps,
      buffers: Object.fromEntries([...this.moments].map(([k, [m, v]]) => [k, [m.slice(), v.slice()]])),
    };
  }

  restore(state: OptimizerState): void {
    if (state.kind !== 'adamw') throw new Error(`cannot restore ${state.kind} state into AdamW`);
    this.steps = state.step;
    this.moments = new Map(
      Object.entries(state.buffers).map(([k, [m, v]]) => [
        k,
        [Float32Array.from(m ?? []), Float32Array.from(v ?? [])],
      ]),
    );
  }
}

/** The usual exclusion from weight decay: norms, biases, embeddings' scalars and logit_scale. */
export function excludedFromDecay(name: string): boolean {
  return (
    name.endsWith('.bias') ||
    name.endsWith('_bias') ||
    /(^|\.)(ln_[^.]*|ln_pre|ln_post|ln_final)\.weight$/.test(name) ||
    name === 'logit_scale' ||
    name.endsWith('class_embedding') ||
    name.endsWith('positional_embedding')
  );
}
