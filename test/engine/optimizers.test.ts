import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { AdamW, excludedFromDecay, Sgd } from '../../engine/train/optimizers.js';
import { warmupCosine } from '../../engine/train/schedules.js';

const t = (...v: number[]): HostTensor => ({ data: Float32Array.from(v), shape: [v.length] });

describe('SGD with momentum and weight decay (torch.optim.SGD rules)', () => {
  it('matches the hand-computed updates over three steps', () => {
    const params = { w: t(1, -2) };
    const opt = new Sgd({ momentum: 0.9, weightDecay: 0.1 });
    const grads = [t(0.5, 0.5), t(-1, 0), t(0.2, 0.4)];
    // Step 1: g = 0.5 + 0.1*1 = 0.6 -> buf 0.6 -> w = 1 - 0.1*0.6 = 0.94
    // Step 2: g = -1 + 0.094 = -0.906 -> buf = 0.54 - 0.906 = -0.366 -> w = 0.94 + 0.0366 = 0.9766
    // Step 3: g = 0.2 + 0.09766 = 0.29766 -> buf = -0.3294 + 0.29766 = -0.03174 -> w = 0.9766 + 0.003174 = 0.979774
    for (const g of grads) opt.update(params, { w: g }, 0.1);
    expect(params.w.data[0]).toBeCloseTo(0.979774, 5);
  });

  it('restores its state so a resumed run continues identically', () => {
    const a = { w: t(1, 2, 3) };
    const b = { w: t(1, 2, 3) };
    const optA = new Sgd({ momentum: 0.9 });
    optA.update(a, { w: t(1, 1, 1) }, 0.1);
    const optB = new Sgd({ momentum: 0.9 });
    optB.restore(
      JSON.parse(JSON.stringify(optA.state(), (_k, v: unknown) => (v instanceof Float32Array ? [...v] : v))),
    );
    b.w.data.set(a.w.data);
    optA.update(a, { w: t(0.5, 0, -1) }, 0.1);
    optB.update(b, { w: t(0.5, 0, -1) }, 0.1);
    expect([...b.w.data]).toEqual([...a.w.data]);
  });
});

describe('AdamW (torch.optim.AdamW rules)', () => {
  it('first step moves each weight by lr (bias-corrected) after decoupled decay', () => {
    const params = { w: t(1, -1) };
    const opt = new AdamW({ weightDecay: 0.1 });
    opt.update(params, { w: t(3, -0.001) }, 0.01);
    // w = w*(1 - 0.01*0.1) - 0.01 * g/(|g| + eps)
    expect(params.w.data[0]).toBeCloseTo(1 * 0.999 - 0.01, 6);
    expect(params.w.data[1]).toBeCloseTo(-1 * 0.999 + 0.01 * (0.001 / (0.001 + 1e-8)), 6);
  });

  it('second step uses both moments with bias correction', () => {
    const params = { w: t(0) };
    const opt = new AdamW({ weightDecay: 0 });
    opt.update(params, { w: t(1) }, 0.1);
    opt.update(params, { w: t(3) }, 0.1);
    const m = 0.9 * 0.1 + 0.1 * 3; // after step 2: 0.39
    const v = 0.999 * 0.001 + 0.001 * 9; // 0.009999
    const step2 = (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.998001)) + 1e-8);
    expect(params.w.data[0]).toBeCloseTo(-0.1 - step2, 6);
  });

  it('weight-decay exclusions cover norms, biases and logit_scale', () => {
    expect(excludedFromDecay('visual.transformer.resblocks.0.ln_1.weight')).toBe(true);
    expect(excludedFromDecay('visual.ln_post.weight')).toBe(true);
    expect(excludedFromDecay('transformer.resblocks.3.attn.in_proj_bias')).toBe(true);
    expect(excludedFromDecay('logit_scale')).toBe(true);
    expect(excludedFromDecay('visual.transformer.resblocks.0.mlp.c_fc.weight')).toBe(false);
    expect(excludedFromDecay('token_embedding.weight')).toBe(false);
  });
});

describe('warm-up + cosine schedule', () => {
  it('ramps linearly, peaks at the base rate and decays to the floor', () => {
    const s = warmupCosine(1, 110, 10);
    expect(s(0)).toBeCloseTo(0.1);
    expect(s(9)).toBeCloseTo(1);
    expect(s(10)).toBeCloseTo(1);
    expect(s(60)).toBeCloseTo(0.5);
    expect(s(110)).toBeCloseTo(0);
  });
});
