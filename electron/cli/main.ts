import { Command, Option } from 'commander';
import { VetbenchError } from '../../engine/errors.js';
import { vetbenchVersion } from '../../engine/paths.js';
import { registerAttack } from './commands/attack.js';
import { registerCache } from './commands/cache.js';
import { registerCancel } from './commands/cancel.js';
import { registerConvert } from './commands/convert.js';
import { registerDataset } from './commands/dataset.js';
import { registerDemo } from './commands/demo.js';
import { registerDefend } from './commands/defend.js';
import { registerEncode } from './commands/encode.js';
import { registerEval } from './commands/eval.js';
import { registerExplain } from './commands/explain.js';
import { registerInfo } from './commands/info.js';
import { registerInspectModel } from './commands/inspect-model.js';
import { registerMethods } from './commands/methods.js';
import { registerPr } from './commands/pr.js';
import { registerPretrain } from './commands/pretrain.js';
import { registerReport } from './commands/report.js';
import { registerResume } from './commands/resume.js';
import { registerRuns } from './commands/runs.js';
import { registerScan } from './commands/scan.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerTrigger } from './commands/trigger.js';

/** The `vetbench` command line. Each command lives in its own module under commands/. */
const program = new Command()
  .name('vetbench')
  .description('Vet, attack and harden CLIP-style vision-language models against backdoors, offline.')
  .version(vetbenchVersion())
  .showHelpAfterError()
  .addOption(new Option('--debug', 'print stack traces of unexpected errors'));

registerInfo(program);
registerInspectModel(program);
registerConvert(program);
registerTokenize(program);
registerEncode(program);
registerDataset(program);
registerPretrain(program);
registerEval(program);
registerAttack(program);
registerDefend(program);
registerMethods(program);
registerTrigger(program);
registerExplain(program);
registerPr(program);
registerReport(program);
registerScan(program);
registerRuns(program);
registerStatus(program);
registerCache(program);
registerCancel(program);
registerResume(program);
registerServe(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof VetbenchError) {
    console.error(`vetbench: ${e.describe()}`);
    process.exitCode = 2;
  } else {
    const err = e as Error;
    console.error(`vetbench: ${err.message}`);
    if (program.opts<{ debug?: boolean }>().debug) console.error(err.stack);
    else console.error('  -> This is unexpected; rerun with --debug and report the stack trace.');
    process.exitCode = 1;
  }
}
