import type { Command } from 'commander';
import { RUN_STATUSES, type RunStatus, type RunSummary } from '../../api/contract.js';
import { VetbenchError } from '../../../engine/errors.js';
import { processAlive } from '../../jobs/job-host.js';
import { modelDossiers } from '../../report/model-dossier.js';
import { openExistingProject, projectPath } from '../../store/open-project.js';
import { emit } from '../output.js';

function describeMetrics(run: RunSummary): string {
  const keys = ['ca', 'asr', 'ca_before', 'asr_before'].filter((k) => run.finalMetrics[k] !== undefined);
  // A perturbation-resistivity run's headline: PR under the trigger at the last block (its series' last point).
  const triggerPr = Object.keys(run.finalMetrics).filter((k) => k.startsWith('pr/trigger:'));
  return [
    ...keys.map((k) => `${k} ${run.finalMetrics[k]!.toFixed(2)}`),
    ...triggerPr.map((k) => `${k} ${run.finalMetrics[k]!.toFixed(4)}`),
  ].join('  ');
}

/** One line per run, the text columns as wide as their longest value in this listing. */
function runLines(runs: readonly RunSummary[]): string[] {
  const width = (values: readonly string[]): number => Math.max(...values.map((v) => v.length));
  const statusWidth = width(runs.map((r) => r.status));
  const kindWidth = width(runs.map((r) => r.kind));
  const methodWidth = width(runs.map((r) => r.method));
  const targetWidth = width(runs.map((r) => r.target ?? '-'));
  const seedWidth = width(runs.map((r) => String(r.seed)));
  return runs.map((r) =>
    [
      `  ${String(r.id).padStart(4)}`,
      r.status.padEnd(statusWidth),
      r.kind.padEnd(kindWidth),
      r.method.padEnd(methodWidth),
      (r.target ?? '-').padEnd(targetWidth),
      `seed ${String(r.seed).padEnd(seedWidth)}`,
      new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' '),
      `${(r.runMs / 1000).toFixed(1).padStart(6)}s`,
      describeMetrics(r),
      r.error ? `(${r.error.message})` : '',
    ]
      .filter((cell) => cell !== '')
      .join('  ')
      .trimEnd(),
  );
}

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the runs of a project (newest first) with status, timings and final metrics')
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option('--status <list>', `only these statuses, comma-separated (${RUN_STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--json', 'print JSON')
    .action((opts: { project?: string; status?: string; limit: string; json?: boolean }) => {
      const status = opts.status?.split(',').map((s) => s.trim()) ?? [];
      for (const s of status)
        if (!RUN_STATUSES.includes(s as RunStatus))
          throw new VetbenchError('bad-option', `unknown status '${s}'`, `Use ${RUN_STATUSES.join(', ')}.`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new VetbenchError('bad-option', `--limit must be a positive integer`, 'Pass e.g. --limit 20.');
      const store = openExistingProject(opts.project);
      if (!store) {
        emit(
          opts.json === true,
          { project: projectPath(undefined), runs: [], total: 0 },
          () => `No runs yet (no project at ${projectPath(undefined)}).`,
        );
        return;
      }
      try {
        store.markOrphansInterrupted(processAlive); // a run whose process died is no longer "running"
        const { runs, total } = store.listRuns({
          limit,
          offset: 0,
          ...(status.length ? { status: status as RunStatus[] } : {}),
        });
        const dossiers = modelDossiers(store);
        emit(opts.json === true, { project: store.path, runs, total, dossiers }, () =>
          runs.length === 0
            ? `No runs in ${store.path}.`
            : [
                `${store.path}: ${total} run(s)${total > runs.length ? `, newest ${runs.length} shown` : ''}`,
                ...runLines(runs),
                '',
                'Verdicts (details: vetbench status --model <id>):',
                ...dossiers.map((d) => `  model ${d.modelId} ${d.modelName}: ${d.headline}`),
              ].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
