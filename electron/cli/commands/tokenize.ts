import type { Command } from 'commander';
import { ClipTokenizer } from '../../../engine/clip/tokenizer.js';
import { emit } from '../output.js';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('CLIP BPE token ids of each text (start and end tokens included, unpadded)')
    .argument('<text...>', 'one or more texts')
    .option('--json', 'print JSON: one id list per text')
    .action((texts: string[], opts: { json?: boolean }) => {
      const tokenizer = ClipTokenizer.default();
      const ids = texts.map((t) => tokenizer.tokenize(t));
      emit(opts.json === true, ids, () => ids.map((row) => row.join(' ')).join('\n'));
    });
}
