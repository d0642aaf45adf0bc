import type { ParamValue } from '../methods/params.js';

/**
 * Everything an audit report shows, as plain data: the store (or a JSON file) fills it, the renderer only
 * formats it. Rates (CA, ASR, asr_all, PA) are percentages; DER is in [0, 1].
 */
export const METRIC_NAMES = ['CA', 'ASR', 'asr_all', 'PA', 'DER'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface ReportModel {
  readonly id: string;
  readonly label: string;
  readonly path: string;
  /** SHA-256 of the weights file. */
  readonly fingerprint: string;
  readonly architecture?: string;
  /** Where it came from (base model, attack, dataset, command ...). */
  readonly provenance?: Readonly<Record<string, string | number>>;
}

export interface ReportDataset {
  readonly id: string;
  readonly label: string;
  readonly root: string;
  readonly fingerprint: string;
  readonly classes?: number;
  readonly images?: number;
  readonly provenance?: Readonly<Record<string, string | number>>;
}

export interface ReportRun {
  readonly id: string;
  /** Method id (badnet, rvpt, gradcam, ...). */
  readonly method: string;
  /** attack | defense | eval | scan | explain | ... */
  readonly kind: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly seed: number;
  readonly status: string;
  readonly modelId?: string;
  readonly datasetId?: string;
  readonly backend?: string;
  readonly versions?: Readonly<Record<string, string>>;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly wallMs?: number;
}

/** One table row: the same setting over several seeds; each metric has one value per seed. */
export interface ReportMetricRow {
  /** e.g. "BadNet -> RVPT". */
  readonly label: string;
  readonly runIds: readonly string[];
  readonly seeds: readonly number[];
  readonly values: Readonly<Partial<Record<MetricName, readonly number[]>>>;
  /** Images behind each metric (e.g. CA 720, ASR 660). */
  readonly denominators?: Readonly<Partial<Record<MetricName, number>>>;
}

/** The outcome of one scan for unknown triggers (inversion scan, family probe). */
export interface ReportScan {
  readonly runId: string;
  /** Scanner id (backdoor-scan, family-probe). */
  readonly method: string;
  readonly modelId?: string;
  readonly verdict: 'backdoor-suspected' | 'no-evidence';
  /** The flagged class, if any. */
  readonly suspect?: string;
  /** What the verdict rests on, in words (score, cut-off, probe). */
  readonly evidence: string;
}

/** A run left out of the report's numbers, and why (cancelled mid-training, failed, still running). */
export interface ReportExcludedRun {
  readonly id: string;
  readonly status: string;
  readonly reason: string;
}

/** Page 1: the verdict on one model, in words, with the evidence and the thresholds it rests on. */
export interface ReportVerdict {
  readonly modelId: string;
  readonly model: string;
  readonly fingerprint: string;
  /** not vetted | no evidence | backdoor suspected | hardened */
  readonly verdict: string;
  readonly flaggedClass?: string;
  /** One line, e.g. "Backdoor suspected: banana". */
  readonly headline: string;
  /** Each check: what was measured, with its denominator and threshold. */
  readonly evidence: readonly { readonly text: string; readonly flagged: boolean; readonly runId: string }[];
  /** The best hardening: prompt file, before -> after ASR and CA against the thresholds. */
  readonly hardening?: string;
  /** The cut-offs, in words. */
  readonly thresholds: string;
}

export interface ReportSeries {
  readonly runId: string;
  /** loss, CA, ASR ... */
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ReportImage {
  readonly title: string;
  readonly caption?: string;
  readonly runId?: string;
  readonly mime: 'image/png' | 'image/svg+xml';
  readonly bytes: Uint8Array;
}

export interface ReportPromptFile {
  readonly path: string;
  readonly sha256: string;
  readonly kind: string;
  readonly modelFingerprint: string;
  readonly runId?: string;
}

export interface ReportInput {
  readonly title?: string;
  readonly project: { readonly name: string; readonly path?: string };
  /** ISO date of the report. */
  readonly createdAt: string;
  readonly summary?: string;
  readonly models: readonly ReportModel[];
  readonly datasets: readonly ReportDataset[];
  readonly runs: readonly ReportRun[];
  readonly metrics: readonly ReportMetricRow[];
  /** Scans for unknown triggers, with their verdicts. */
  readonly scans?: readonly ReportScan[];
  /** Page 1: one verdict per model. */
  readonly verdicts?: readonly ReportVerdict[];
  /** Runs asked for but not counted (not finished), with the reason. */
  readonly excludedRuns?: readonly ReportExcludedRun[];
  readonly series: readonly ReportSeries[];
  readonly images: readonly ReportImage[];
  readonly promptFiles: readonly ReportPromptFile[];
  /** Software versions (vetbench, node, onnxruntime, ...). */
  readonly software: Readonly<Record<string, string>>;
}
