import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/util/rng.js';

describe('seeded RNG', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(7)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(7)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(8)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('restores its exact state (resume after a checkpoint)', () => {
    const r = new Rng(3);
    r.normal();
    const saved = JSON.parse(JSON.stringify(r.state())) as ReturnType<Rng['state']>;
    const expected = [r.normal(), r.uniform(), r.int(10)];
    const resumed = Rng.fromState(saved);
    expect([resumed.normal(), resumed.uniform(), resumed.int(10)]).toEqual(expected);
  });

  it('has the right moments', () => {
    const r = new Rng(11);
    const n = 20000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.uniform();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 1);
    expect(sn2 / n).toBeCloseTo(1, 1);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Rng(1).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
  });
});
