import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { JobHost } from '../../jobs/job-host.js';
import { ProjectStore } from '../../store/project-store.js';
import { openExistingProject, projectPath } from '../../store/open-project.js';
import { emit } from '../output.js';
import { runIdArgument } from './resume.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description(
      'cancel a queued or running run (it stops at the next step; its last checkpoint stays for a resume)',
    )
    .argument('<id>', 'run id (vetbench runs)')
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option('--wait <seconds>', 'how long to wait for a run of another process to stop', '30')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { project?: string; wait: string; json?: boolean }) => {
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
        let run = host.cancel(runId);
        const deadline = Date.now() + Number(opts.wait) * 1000;
        while (
          !ProjectStore.isFinished(run.status) &&
          run.status !== 'interrupted' &&
          Date.now() < deadline
        ) {
          await sleep(250);
          run = store.getRun(runId);
        }
        emit(opts.json === true, run, () =>
          run.status === 'cancelled'
            ? `run ${runId} cancelled`
            : ProjectStore.isFinished(run.status)
              ? `run ${runId} had already ended (${run.status})`
              : `cancel of run ${runId} requested; it is still ${run.status} (the process running it stops it at its next step)`,
        );
      } finally {
        await host.close();
        store.close();
      }
    });
}
