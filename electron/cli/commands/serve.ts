import { join } from 'node:path';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { projectRoot } from '../../../engine/paths.js';
import { AllowedRoots } from '../../api/allowed-roots.js';
import { httpFilePath } from '../../api/http-file-url.js';
import { startHttpServer } from '../../api/http-server.js';
import { createApiService } from '../../api/service.js';
import { JobHost } from '../../jobs/job-host.js';
import { openProject } from '../../store/open-project.js';
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
      const store = openProject(opts.project);
      const host = new JobHost(store, { concurrency: Math.max(1, Number(opts.concurrency) || 1) });
      const interrupted = host.start();
      const roots = new AllowedRoots([
        process.cwd(),
        store.artifactsDir,
        join(store.path, '..'),
        projectRoot(),
        ...opts.allowRoot,
      ]);
      const server = await startHttpServer({
        store,
        subscribe: (l) => host.subscribe(l),
        rendererDir: join(projectRoot(), 'dist', 'renderer'),
        port,
        handlers: (withToken) =>
          createApiService(store, host, { allowedRoots: roots, fileUrl: (f) => withToken(httpFilePath(f)) }),
      });
      process.stdout.write(`${server.url}\n`);
      process.stderr.write(
        `Vetbench serves ${store.path} on ${server.origin} (127.0.0.1 only; the URL above carries the access token).\n` +
          `Files may be read and written under: ${roots.list().join(', ')}\n` +
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
      await host.close();
      store.close();
    });
}
