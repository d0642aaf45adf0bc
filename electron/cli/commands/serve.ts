import { join } from 'node:path';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { projectRoot } from '../../../engine/paths.js';
import { httpFilePath } from '../../api/http-file-url.js';
import { startHttpServer } from '../../api/http-server.js';
import { ProjectSessions, sessionOpener } from '../../api/project-sessions.js';
import { createSessionApi, rootsFor } from '../../api/session-api.js';
import { JobHost } from '../../jobs/job-host.js';
import { openProject } from '../../store/open-project.js';
import { RecentProjects } from '../../store/recent-projects.js';
import { collect } from '../cli-args.js';

interface ServeCliOptions {
  port: string;
  project?: string;
  allowRoot: string[];
  concurrency: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'the app in a browser: the API over HTTP + server-sent events on 127.0.0.1 only; prints the URL (with its access token) first',
    )
    .option('--port <n>', 'port (0: any free port)', '0')
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option(
      '--allow-root <folder>',
      'a folder whose files may be imported or written (repeatable)',
      collect,
      [],
    )
    .option('--concurrency <n>', 'jobs running at once', '1')
    .action(async (opts: ServeCliOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new VetbenchError(
          'bad-option',
          `--port must be 0..65535, got '${opts.port}'`,
          'Pass e.g. --port 5178.',
        );
      const hostOptions = { concurrency: Math.max(1, Number(opts.concurrency) || 1) };
      const store = openProject(opts.project);
      const host = new JobHost(store, hostOptions);
      const interrupted = host.start();
      // The app can switch projects (Project screen); the files it may name stay within these folders.
      const sessions = new ProjectSessions({ store, host }, sessionOpener(hostOptions), new RecentProjects());
      const baseRoots = [process.cwd(), projectRoot(), ...opts.allowRoot];
      const roots = rootsFor(sessions.current, baseRoots, projectRoot());
      const server = await startHttpServer({
        store: () => sessions.current.store,
        subscribe: (l) => sessions.subscribe(l),
        rendererDir: join(projectRoot(), 'dist', 'renderer'),
        port,
        handlers: (withToken) =>
          createSessionApi(sessions, {
            baseRoots,
            installRoot: projectRoot(),
            fileUrl: (f) => withToken(httpFilePath(f)),
          }),
      });
      process.stdout.write(`${server.url}\n`);
      process.stderr.write(
        `Vetbench serves ${store.path} on ${server.origin} (127.0.0.1 only; the URL above carries the access token).\n` +
          `Files may be read and written under: ${roots.list().join(', ')} (and the folder of whichever project is open)\n` +
          (interrupted.length
            ? `Marked interrupted (their process had ended): runs ${interrupted.join(', ')}\n`
            : '') +
          'Ctrl-C stops it; running jobs are then marked interrupted and can be resumed.\n',
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      await sessions.close();
    });
}
