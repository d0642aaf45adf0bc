import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParamValues } from '../../../engine/methods/params.js';
import { emit } from '../output.js';

/** summary.json of `vetbench explain`: the same fields whether the run went through the job host or not. */
export interface ExplainSummary {
  method: string;
  params: ParamValues;
  seed: number;
  split: string;
  images: number;
  model: { path: string; fingerprint: string; prompts: string | null };
  compared: { label: string; fingerprint: string; prompts: string | null }[];
  trigger?: { method: string; params: unknown; seed: number };
  target?: string;
  result: Record<string, unknown>;
  files: string[];
  wall_ms: number;
  run?: { id: number; project: string };
}

/** Writes summary.json beside the copied files and prints the summary (JSON or lines). */
export async function writeExplainSummary(
  out: string,
  title: string,
  summary: ExplainSummary,
  json: boolean,
): Promise<void> {
  await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  emit(json, summary, () =>
    [
      `${title}: ${summary.images} image(s) of the ${summary.split} split`,
      ...Object.entries(summary.result).map(
        ([k, v]) => `  ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`,
      ),
      `wrote ${summary.files.length + 1} file(s) to ${out}: ${[...summary.files, 'summary.json'].join(', ')}`,
    ].join('\n'),
  );
}
