import { expect } from 'vitest';
import type { FuzzReport } from './harness/run-fuzz.js';
import { FUZZ_LIMITS } from './harness/run-fuzz.js';

/** Prints what a fuzz run exercised and fails with every input that was not handled cleanly. */
export function expectClean(report: FuzzReport, minimumInputs: number): void {
  const mb = (report.peakRssBytes / 2 ** 20).toFixed(0);
  console.log(
    `fuzz ${report.kind}: ${report.inputs} inputs, ${report.refused} refused, ${report.accepted} accepted, peak RSS ${mb} MB; codes ${JSON.stringify(report.codes)}`,
  );
  expect(report.failures.slice(0, 20)).toEqual([]);
  expect(report.inputs).toBeGreaterThanOrEqual(minimumInputs);
  expect(report.peakRssBytes).toBeLessThan(FUZZ_LIMITS.rssBytes);
}
