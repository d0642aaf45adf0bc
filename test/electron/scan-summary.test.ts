import { describe, expect, it } from 'vitest';
import { scanSummaryOf } from '../../electron/report/scan-summary.js';

describe('scanSummaryOf', () => {
  const run = { id: 5, method: 'family-probe', modelId: 2 };

  it('words a family probe that flags a class', () => {
    const s = scanSummaryOf(run, {
      verdict: 'backdoor-suspected',
      suspect: { index: 1, name: 'banana', probe: 'wanet k=R s=12', share: 0.6875 },
      score: 0.6875,
      rule: { minShare: 0.5, minDominance: 3, minExcess: 3 },
      referenced: true,
    });
    expect(s).toEqual({
      runId: '5',
      method: 'family-probe',
      modelId: '2',
      verdict: 'backdoor-suspected',
      suspect: 'banana',
      evidence:
        "takes 68.8% of the other classes' images under wanet k=R s=12 (flagged at >= 50.0% and >= 3x the next class; compared with a reference model: flagged only at >= 3x its share there)",
    });
  });

  it('words an inversion scan with no evidence', () => {
    const s = scanSummaryOf(
      { id: 6, method: 'backdoor-scan', modelId: 1 },
      { verdict: 'no-evidence', suspect: null, score: 1.234, threshold: 3.5 },
    );
    expect(s).toMatchObject({
      verdict: 'no-evidence',
      evidence: 'largest anomaly index 1.23 (flagged above 3.5)',
    });
    expect(s).not.toHaveProperty('suspect');
  });

  it('skips a run without a scan result', () => {
    expect(scanSummaryOf(run, null)).toBeNull();
    expect(scanSummaryOf(run, { verdict: 'maybe' })).toBeNull();
  });
});
