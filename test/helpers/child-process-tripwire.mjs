// Preloaded with `node --import` into a CLI under test: records every attempt to start a process (the
// child_process API) in the file named by VETBENCH_TRIPWIRE, then lets it proceed. A test that expects no
// process to start asserts the file stays empty.
import childProcess from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import process from 'node:process';

const log = process.env.VETBENCH_TRIPWIRE;
if (log) {
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    const original = childProcess[name];
    childProcess[name] = (...args) => {
      appendFileSync(log, `${name} ${String(args[0])}\n`);
      return original(...args);
    };
  }
  syncBuiltinESMExports();
}
