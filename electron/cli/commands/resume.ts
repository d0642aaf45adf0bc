import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { followRun } from '../../jobs/follow-run.js';
import { JobHost } from '../../jobs/job-host.js';
import { openExistingProject, projectPath } from '../../store/open-project.js';
import { emit } from '../output.js';

export function runIdArgument(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1)
    throw new VetbenchError(
      'bad-option',
      `'${value}' is not a run id`,
      'Run ids are positive integers (vetbench runs).',
    );
  return id;
}

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description(
      'continue an interrupted, failed or cancelled run from its last checkpoint (same run id, same RNG state)',
    )
    .argument('<id>', 'run id (vetbench runs)')
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option('--json', 'print the final run as JSON')
    .action(async (id: string, opts: { project?: string; json?: boolean }) => {
      const runId = runIdArgument(id);
      const store = openExistingProject(opts.project);
      if (!store)
        throw new VetbenchError(
          'project-missing',
          `there is no project at ${projectPath(undefined)}`,
          'Pass --project <file>.',
        );
      const host = new JobHost(store);
      try {
        host.start();
        const from = store.lastCheckpoint(runId);
        host.resume(runId);
        process.stderr.write(
          `resuming run ${runId} ${from ? `from its checkpoint at step ${from.step}` : 'from the start (no checkpoint)'}\n`,
        );
        const run = await followRun(host, runId);
        if (run.status === 'failed' && run.error)
          throw new VetbenchError(run.error.code, run.error.message, run.error.hint);
        emit(opts.json === true, run, () =>
          [
            `run ${run.id} ${run.status}`,
            ...store.listArtifacts(run.id).map((a) => `  ${store.getArtifact(a.id).path}`),
          ].join('\n'),
        );
        if (run.status !== 'done') process.exitCode = 1;
      } finally {
        await host.close();
        store.close();
      }
    });
}
