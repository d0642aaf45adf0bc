/**
 * Electron's utilityProcess as a ProcessLauncher, for the desktop app. Electron is only referenced by type so
 * this compiles (and the CLI runs) without the Electron binary; the app passes its `utilityProcess` module in.
 */
import type { UtilityProcess } from 'electron';
import type { ProcessLauncher, WorkerProcess } from './process-launcher.js';

export interface UtilityProcessModule {
  fork(
    modulePath: string,
    args?: string[],
    options?: { serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' },
  ): UtilityProcess;
}

export function utilityProcessLauncher(utilityProcess: UtilityProcessModule): ProcessLauncher {
  return {
    launch(workerModule: string): WorkerProcess {
      const child = utilityProcess.fork(workerModule, [], { serviceName: 'Vetbench job', stdio: 'inherit' });
      let exited = false;
      const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
      child.on('exit', (code) => {
        exited = true;
        for (const l of exitListeners) l(code, null);
      });
      return {
        get pid() {
          return child.pid;
        },
        send(message: unknown): void {
          if (!exited) child.postMessage(message);
        },
        onMessage(listener): void {
          child.on('message', (m: unknown) => listener(m));
        },
        onExit(listener): void {
          exitListeners.push(listener);
        },
        kill(): void {
          if (!exited) child.kill();
        },
      };
    },
  };
}
