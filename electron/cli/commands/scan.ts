import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { RADIUS_MODES, type RadiusMode } from '../../../engine/inversion/projection.js';
import { VetbenchError } from '../../../engine/errors.js';
import {
  SCAN_DEFAULTS,
  SCAN_POSITIVES,
  type ScanPositive,
  type ScanReport,
} from '../../../engine/scan/backdoor-scan.js';
import type { FamilyProbeReport } from '../../../engine/scan/family-probe.js';
import { FAMILY_PROBE_DEFAULTS } from '../../../engine/scan/family-probe.js';
import { importModelInto } from '../../store/imports.js';
import { seedOption } from '../cli-args.js';
import { formatDuration } from '../open-dataset.js';
import { emit } from '../output.js';
import { followToDone, importSubjects, runArtifactPath, withJobHost } from '../run-job.js';

const SCAN_METHODS = ['backdoor-scan', 'family-probe'] as const;
type ScanMethod = (typeof SCAN_METHODS)[number];

interface ScanCliOptions {
  model: string;
  dataset: string;
  method: ScanMethod;
  reference?: string;
  shots?: string;
  seed?: string;
  steps: string;
  rho: string;
  levels: string;
  radiusMode: RadiusMode;
  positive: ScanPositive;
  json?: boolean;
  project?: string;
}

function positive(value: string, flag: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'`,
      `Pass e.g. ${flag} ${integer ? '4' : '0.1'}.`,
    );
  }
  return n;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description(
      'look for a backdoor without knowing the trigger: invert small triggers toward every class and flag a class that is reached far more easily than the others',
    )
    .requiredOption(
      '--model <weights|demo>',
      'CLIP weights (.safetensors, PyTorch .pt/.bin, TorchScript) or the built-in name demo',
    )
    .requiredOption('--dataset <root|demo>', 'clean labelled images (the train split is sampled)')
    .addOption(
      new Option(
        '--method <id>',
        'backdoor-scan: invert small triggers toward every class; family-probe: apply fresh random triggers of the known families',
      )
        .choices([...SCAN_METHODS])
        .default('backdoor-scan'),
    )
    .option(
      '--reference <weights|demo>',
      'family-probe only: a clean model of the same family to compare with (e.g. the upstream checkpoint); a class is flagged only where the scanned model sends >= 3x its share',
    )
    .option(
      '--shots <n>',
      `clean images per class (default ${SCAN_DEFAULTS.shots} for backdoor-scan, ${FAMILY_PROBE_DEFAULTS.shots} for family-probe)`,
    )
    .option('--seed <n>', 'seed of the image sample', '1')
    .option(
      '--steps <n>',
      "projected-gradient steps of each class's inversion at each budget",
      String(SCAN_DEFAULTS.steps),
    )
    .option(
      '--rho <x>',
      'largest l2 budget of the inverted triggers (see --radius-mode)',
      String(SCAN_DEFAULTS.rho),
    )
    .option(
      '--levels <n>',
      'budgets swept, each half the next: rho / 2^(levels-1) ... rho',
      String(SCAN_DEFAULTS.levels),
    )
    .addOption(
      new Option('--radius-mode <mode>', 'rms: per-pixel RMS rho; absolute: whole-image l2 norm rho')
        .choices([...RADIUS_MODES])
        .default(SCAN_DEFAULTS.radiusMode),
    )
    .addOption(
      new Option('--positive <kind>', "what inversion pulls toward: the class's text or its farthest image")
        .choices([...SCAN_POSITIVES])
        .default(SCAN_DEFAULTS.positive),
    )
    .option('--json', 'print JSON')
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .action(async (opts: ScanCliOptions) => {
      // Options are checked before anything is loaded, so a typo fails at once.
      const shots =
        opts.shots === undefined
          ? opts.method === 'family-probe'
            ? FAMILY_PROBE_DEFAULTS.shots
            : SCAN_DEFAULTS.shots
          : positive(opts.shots, '--shots', true);
      const seed = seedOption(opts.seed, 1);
      if (opts.reference !== undefined && opts.method !== 'family-probe') {
        throw new VetbenchError(
          'bad-option',
          '--reference applies to --method family-probe only',
          'Add --method family-probe, or leave out --reference.',
        );
      }
      if (opts.method === 'family-probe') {
        await runScan<FamilyProbeReport>(opts, 'probe.json', seed, { shots }, (r) => probeText(r, shots));
        return;
      }
      const params = {
        shots,
        steps: positive(opts.steps, '--steps', true),
        rho: positive(opts.rho, '--rho', false),
        levels: positive(opts.levels, '--levels', true),
        radiusMode: opts.radiusMode,
        positive: opts.positive,
      };
      await runScan<ScanReport>(opts, 'scan.json', seed, params, (r) => inversionText(r, shots));
    });
}

/** Submits the scan run, follows it to the end and prints its report (JSON with the run, or text). */
async function runScan<R extends { readonly wallMs: number }>(
  opts: ScanCliOptions,
  file: string,
  seed: number,
  params: Readonly<Record<string, string | number>>,
  text: (report: R) => string[],
): Promise<void> {
  await withJobHost(opts.project, {}, async (store, host) => {
    const { model, dataset } = await importSubjects(store, opts.model, opts.dataset);
    const reference = opts.reference === undefined ? null : await importModelInto(store, opts.reference);
    const queued = host.submit({
      kind: 'scan',
      method: opts.method,
      modelId: model.id,
      datasetId: dataset.id,
      seed,
      params: reference ? { ...params, referenceModel: reference.id } : params,
    });
    console.error(`run ${queued.id} in ${store.path}`);
    const run = await followToDone(host, store, queued.id);
    const report = JSON.parse(await readFile(runArtifactPath(store, run.id, file), 'utf8')) as R;
    const out = { ...report, run: { id: run.id, project: store.path } };
    emit(opts.json === true, out, () =>
      [...text(report), `took ${formatDuration(report.wallMs)}`].join('\n'),
    );
  });
}

function failedLine(failed: readonly unknown[]): string[] {
  return failed.length ? [`  ${failed.length} image(s) failed to decode and were left out`] : [];
}

function inversionText(report: ScanReport, shots: number): string[] {
  return [
    report.suspect
      ? `backdoor suspected: class '${report.suspect.name}' (anomaly index ${report.score.toFixed(2)} > ${report.threshold})`
      : `no evidence of a backdoor (largest anomaly index ${report.score.toFixed(2)} <= ${report.threshold})`,
    `${report.images} clean images, ${shots} per class; per class: inverted images of other classes reaching it at each budget (${report.perClass[0]?.levels.map((l) => `${+(l.rho * 255).toFixed(2)}/255`).join(', ')}), margin averaged over the budgets, anomaly index`,
    ...[...report.perClass]
      .sort((a, b) => b.anomalyIndex - a.anomalyIndex)
      .map(
        (c) =>
          `  ${c.name.padEnd(24)} ${c.levels.map((l) => String(l.flips).padStart(3)).join(' ')} of ${c.n}  margin ${c.meanMargin.toFixed(2).padStart(7)}  index ${c.anomalyIndex.toFixed(2).padStart(6)}`,
      ),
    ...failedLine(report.failed),
    'Triggers of the known families (patches, blends, warps, sines) are probed by: vetbench scan --method family-probe',
  ];
}

const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

function probeText(report: FamilyProbeReport, shots: number): string[] {
  return [
    report.suspect
      ? `backdoor suspected: class '${report.suspect.name}' takes ${percent(report.suspect.share)} of the other classes' images under ${report.suspect.probe}`
      : `no evidence of a backdoor from the known families (the largest share any class takes under a probe: ${percent(report.score)})`,
    `${report.images} clean images, ${shots} per class; a class is flagged when it takes >= ${percent(report.rule.minShare)} of the other classes' images under a probe and >= ${report.rule.minDominance}x the next class${report.rule.minExcess === null ? '' : `, and >= ${report.rule.minExcess}x its share on the reference model`}`,
    ...(report.flagged.length > 1
      ? [`flagged: ${report.flagged.map((f) => `${f.name} ${percent(f.share)} (${f.probe})`).join(', ')}`]
      : []),
    ...(report.referenced
      ? []
      : [
          'no reference model: a class a clean model of this family also sends the images to (a natural sink) is flagged as well; pass --reference <clean weights> to tell them apart',
        ]),
    ...report.probes.map((p) => {
      const d = p.decision;
      const top = p.perClass[d.top.index]!;
      const ref = d.referenceShare === undefined ? '' : `, reference ${percent(d.referenceShare)}`;
      return `  ${p.label.padEnd(24)} ${d.top.name.padEnd(16)} ${percent(d.top.share).padStart(6)} (clean ${percent(top.cleanShare)}${ref})  next ${d.runnerUp.name} ${percent(d.runnerUp.share)}${d.flagged ? '  FLAGGED' : ''}`;
    }),
    ...failedLine(report.failed),
  ];
}
