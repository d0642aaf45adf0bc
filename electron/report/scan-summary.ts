import type { ReportScan } from '../../engine/report/report-input.js';

/**
 * A scan run's stored result (the JSON its job returned: engine/scan's ScanReport or FamilyProbeReport) in
 * the report's words. Null when the result is missing or not a scan's (a run still queued, an old project).
 */
export function scanSummaryOf(
  run: { readonly id: number; readonly method: string; readonly modelId: number },
  result: Readonly<Record<string, unknown>> | null,
): ReportScan | null {
  if (!result) return null;
  const verdict = result['verdict'];
  if (verdict !== 'backdoor-suspected' && verdict !== 'no-evidence') return null;
  const suspect = result['suspect'] as { name?: unknown; probe?: unknown; share?: unknown } | null;
  const score = typeof result['score'] === 'number' ? result['score'] : NaN;
  const base = {
    runId: String(run.id),
    method: run.method,
    modelId: String(run.modelId),
    verdict,
    ...(suspect && typeof suspect.name === 'string' ? { suspect: suspect.name } : {}),
  } as const;
  if (run.method === 'family-probe') {
    const rule = result['rule'] as
      { minShare?: unknown; minDominance?: unknown; minExcess?: unknown } | undefined;
    const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '?');
    const against =
      result['referenced'] === true
        ? `; compared with a reference model: flagged only at >= ${String(rule?.minExcess)}x its share there`
        : '; no reference model';
    return {
      ...base,
      evidence: suspect
        ? `takes ${pct(suspect.share)} of the other classes' images under ${String(suspect.probe)} (flagged at >= ${pct(rule?.minShare)} and >= ${String(rule?.minDominance)}x the next class${against})`
        : `largest share any class takes under a probe: ${pct(score)} (flagged at >= ${pct(rule?.minShare)}${against})`,
    };
  }
  const threshold = typeof result['threshold'] === 'number' ? result['threshold'] : NaN;
  return {
    ...base,
    evidence: `largest anomaly index ${score.toFixed(2)} (flagged above ${threshold})`,
  };
}
