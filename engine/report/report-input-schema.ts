import { z } from 'zod';
import { VetbenchError } from '../errors.js';
import { METRIC_NAMES } from './report-input.js';

/**
 * The JSON form of a ReportInput (`vetbench report --input file.json`): the same fields, with each image
 * given as base64 or as a file path (relative to the JSON file). Validated so a bad file gets a clear error.
 */
const record = z.record(z.string(), z.union([z.string(), z.number()]));
const metricValues = z.partialRecord(z.enum(METRIC_NAMES), z.array(z.number()));

export const reportInputJsonSchema = z.object({
  title: z.string().optional(),
  project: z.object({ name: z.string(), path: z.string().optional() }),
  createdAt: z.string().optional(),
  summary: z.string().optional(),
  models: z.array(
    z.object({
      id: z.string(),
      label: z.string(),
      path: z.string(),
      fingerprint: z.string(),
      architecture: z.string().optional(),
      provenance: record.optional(),
    }),
  ),
  datasets: z.array(
    z.object({
      id: z.string(),
      label: z.string(),
      root: z.string(),
      fingerprint: z.string(),
      classes: z.number().int().optional(),
      images: z.number().int().optional(),
      provenance: record.optional(),
    }),
  ),
  runs: z.array(
    z.object({
      id: z.string(),
      method: z.string(),
      kind: z.string(),
      params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      seed: z.number().int(),
      status: z.string(),
      modelId: z.string().optional(),
      datasetId: z.string().optional(),
      backend: z.string().optional(),
      versions: z.record(z.string(), z.string()).optional(),
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
      wallMs: z.number().optional(),
    }),
  ),
  metrics: z
    .array(
      z.object({
        label: z.string(),
        runIds: z.array(z.string()),
        seeds: z.array(z.number()),
        values: metricValues,
        denominators: z.partialRecord(z.enum(METRIC_NAMES), z.number()).optional(),
      }),
    )
    .default([]),
  scans: z
    .array(
      z.object({
        runId: z.string(),
        method: z.string(),
        modelId: z.string().optional(),
        verdict: z.enum(['backdoor-suspected', 'no-evidence']),
        suspect: z.string().optional(),
        evidence: z.string(),
      }),
    )
    .default([]),
  verdicts: z
    .array(
      z.object({
        modelId: z.string(),
        model: z.string(),
        fingerprint: z.string(),
        verdict: z.string(),
        flaggedClass: z.string().optional(),
        headline: z.string(),
        evidence: z.array(z.object({ text: z.string(), flagged: z.boolean(), runId: z.string() })),
        hardening: z.string().optional(),
        thresholds: z.string(),
      }),
    )
    .default([]),
  excludedRuns: z.array(z.object({ id: z.string(), status: z.string(), reason: z.string() })).default([]),
  series: z
    .array(
      z.object({ runId: z.string(), name: z.string(), points: z.array(z.tuple([z.number(), z.number()])) }),
    )
    .default([]),
  images: z
    .array(
      z
        .object({
          title: z.string(),
          caption: z.string().optional(),
          runId: z.string().optional(),
          mime: z.enum(['image/png', 'image/svg+xml']).optional(),
          base64: z.string().optional(),
          path: z.string().optional(),
        })
        .refine((i) => (i.base64 === undefined) !== (i.path === undefined), {
          message: 'give exactly one of base64 or path',
        }),
    )
    .default([]),
  promptFiles: z
    .array(
      z.object({
        path: z.string(),
        sha256: z.string(),
        kind: z.string(),
        modelFingerprint: z.string(),
        runId: z.string().optional(),
      }),
    )
    .default([]),
  software: z.record(z.string(), z.string()).default({}),
});

export type ReportInputJson = z.infer<typeof reportInputJsonSchema>;

export function parseReportInputJson(value: unknown, source: string): ReportInputJson {
  const parsed = reportInputJsonSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new VetbenchError(
      'report-input-invalid',
      `${source} is not a valid report input: ${issues}`,
      'See docs/explanations.md (report input) for the fields; every run needs id, method, kind, params, seed and status.',
    );
  }
  return parsed.data;
}
