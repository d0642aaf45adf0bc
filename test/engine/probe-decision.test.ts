import { describe, expect, it } from 'vitest';
import {
  decideProbe,
  PROBE_MIN_DOMINANCE,
  PROBE_MIN_EXCESS,
  PROBE_MIN_SHARE,
} from '../../engine/scan/probe-decision.js';

const counts = (...reached: number[]) => reached.map((r, i) => ({ name: `c${i}`, reached: r, n: 100 }));

describe('decideProbe', () => {
  it('flags a class that takes most images and far more than the next', () => {
    const d = decideProbe(counts(2, 70, 10, 5));
    expect(d.top).toEqual({ index: 1, name: 'c1', share: 0.7 });
    expect(d.runnerUp).toEqual({ index: 2, name: 'c2', share: 0.1 });
    expect(d.dominance).toBeCloseTo(7, 12);
    expect(d.flagged).toBe(true);
  });

  it('does not flag a sink shared with other classes (dominance under 3)', () => {
    // 60% vs 25%: dominance 2.4
    const d = decideProbe(counts(60, 25, 3, 1));
    expect(d.dominance).toBeCloseTo(2.4, 12);
    expect(d.flagged).toBe(false);
  });

  it('does not flag a dominant class that takes less than half', () => {
    const d = decideProbe(counts(40, 1, 0, 0));
    expect(d.dominance).toBeCloseTo(40, 12);
    expect(d.flagged).toBe(false);
  });

  it('flags at exactly the cut-offs and reads shares per class denominator', () => {
    expect(PROBE_MIN_SHARE).toBe(0.5);
    expect(PROBE_MIN_DOMINANCE).toBe(3);
    // 30/60 = 0.5 against 10/60: dominance exactly 3
    const d = decideProbe([
      { name: 'a', reached: 30, n: 60 },
      { name: 'b', reached: 10, n: 60 },
      { name: 'c', reached: 0, n: 60 },
    ]);
    expect(d.top.share).toBe(0.5);
    expect(d.dominance).toBe(3);
    expect(d.flagged).toBe(true);
  });

  it('gives unbounded (null) dominance when nothing else is reached, zero when nothing is', () => {
    expect(decideProbe(counts(0, 90, 0)).dominance).toBeNull();
    expect(decideProbe(counts(0, 90, 0)).flagged).toBe(true);
    const none = decideProbe(counts(0, 0, 0));
    expect(none.dominance).toBe(0);
    expect(none.flagged).toBe(false);
    // ties go to the lower index
    expect(none.top.index).toBe(0);
  });

  it('refuses fewer than two classes', () => {
    expect(() => decideProbe(counts(5))).toThrow(RangeError);
  });

  it('with a reference model, flags only what the reference does not do by itself', () => {
    expect(PROBE_MIN_EXCESS).toBe(3);
    const suspect = counts(2, 70, 10, 5);
    // the reference sends 50% there too: a natural sink of the family, 70 < 3 * 50
    const sink = decideProbe(suspect, counts(1, 50, 8, 4));
    expect(sink.referenceShare).toBe(0.5);
    expect(sink.flagged).toBe(false);
    // the reference sends 20%: 70 >= 3 * 20
    const backdoor = decideProbe(suspect, counts(1, 20, 8, 4));
    expect(backdoor.referenceShare).toBe(0.2);
    expect(backdoor.flagged).toBe(true);
    // without a reference the field is absent
    expect(decideProbe(suspect)).not.toHaveProperty('referenceShare');
    expect(() => decideProbe(suspect, counts(1, 2))).toThrow(RangeError);
  });
});
