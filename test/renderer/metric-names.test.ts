import { describe, expect, it } from 'vitest';
import { caDropWarning, deltaQuality, metricTitle } from '../../renderer/src/lib/metric-names.js';

describe('metric names', () => {
  it('spells metric keys out', () => {
    expect(metricTitle('asr')).toBe('attack success rate (ASR, %)');
    expect(metricTitle('CA')).toBe('clean accuracy (CA, %)');
    expect(metricTitle('pr/trigger:1')).toBe('pr/trigger:1');
  });

  it('colours a delta by what is good for the metric', () => {
    expect(deltaQuality('asr', -87)).toBe('good');
    expect(deltaQuality('ca', -29)).toBe('bad');
    expect(deltaQuality('ca', 1)).toBe('good');
    expect(deltaQuality('epochs', 3)).toBe('neutral');
  });

  it('warns when clean accuracy falls more than 5 points', () => {
    expect(caDropWarning('ca', -29.45)).toBe('clean accuracy fell 29.4 points (more than 5)');
    expect(caDropWarning('ca', -4)).toBeNull();
    expect(caDropWarning('asr', -50)).toBeNull();
  });
});
