import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderDemoImage } from '../../../engine/demo/demo-dataset.js';
import { DEMO_CLASSES } from '../../../engine/demo/shapes.js';
import { VetbenchError } from '../../../engine/errors.js';
import { decodeImage } from '../../../engine/image/decode.js';
import { toModelPixels } from '../../../engine/image/preprocess.js';
import { TRIGGER_FAMILIES } from '../../../engine/methods/registry.js';
import { renderTriggerPreview } from '../../../engine/triggers/preview.js';
import { loadTrigger } from '../../../engine/triggers/trigger-file.js';
import { collect, seedOption, triggerFromArgs } from '../cli-args.js';

interface PreviewOptions {
  image?: string;
  resolution?: string;
  seed?: string;
  param?: string[];
  amplify: string;
  out: string;
  parts?: boolean;
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a positive integer, got '${value}'`,
      `Pass e.g. ${flag} 224.`,
    );
  }
  return n;
}

export function registerTrigger(program: Command): void {
  const trigger = program.command('trigger').description('look at triggers');
  trigger
    .command('preview')
    .description(
      'render what a trigger does to an image: clean | triggered | amplified difference, as one PNG',
    )
    .argument(
      '<trigger>',
      'a trigger family id (vetbench methods) or a saved trigger file (.trigger.safetensors)',
    )
    .option('--image <file>', 'the image to trigger (default: a banana from the built-in demo data)')
    .option(
      '--resolution <px>',
      'resolution of a trigger built from its family (default 224); with a saved trigger, the model resolution it must match',
    )
    .option('--seed <n>', 'seed of a trigger built from its family', '1')
    .option('--param <key=value>', 'trigger parameter (repeatable)', collect, [])
    .option('--amplify <k>', 'factor on |triggered - clean| in the difference panel', '4')
    .option('--parts', 'also write <out>-clean.png, <out>-triggered.png and <out>-difference.png')
    .requiredOption('--out <file.png>', 'where the PNG strip goes')
    .action(async (spec: string, opts: PreviewOptions) => {
      const amplify = Number(opts.amplify);
      if (!Number.isFinite(amplify) || amplify <= 0) {
        throw new VetbenchError(
          'bad-option',
          `--amplify must be a positive number, got '${opts.amplify}'`,
          'Pass e.g. --amplify 4.',
        );
      }
      const resolution =
        opts.resolution === undefined ? undefined : positiveInteger(opts.resolution, '--resolution');
      // A saved trigger is shown at the resolution it was made for; asked for another, it is refused
      // (a trigger lives in pixel space at one resolution: rescaling it would show something else).
      const t =
        existsSync(spec) && (opts.param ?? []).length === 0
          ? await loadTrigger(spec, TRIGGER_FAMILIES, resolution === undefined ? {} : { resolution })
          : await triggerFromArgs(spec, opts.param ?? [], seedOption(opts.seed, 1), resolution ?? 224);
      const source = opts.image
        ? await decodeImage(opts.image)
        : await decodeImage(renderDemoImage(DEMO_CLASSES[0]!, 0, 'test', 0).png, 'demo banana');
      const key = opts.image ?? 'test/banana/banana_0000.png';
      const preview = await renderTriggerPreview(t, toModelPixels(source, t.resolution), key, { amplify });
      await writeFile(opts.out, preview.strip!);
      const written = [opts.out];
      if (opts.parts) {
        const stem = opts.out.replace(/\.png$/i, '');
        for (const [name, png] of [
          ['clean', preview.clean],
          ['triggered', preview.triggered],
          ['difference', preview.difference],
        ] as const) {
          await writeFile(`${stem}-${name}.png`, png);
          written.push(`${stem}-${name}.png`);
        }
      }
      console.error(
        `${t.method} at ${t.resolution}px: largest change ${(preview.maxChange * 255).toFixed(1)}/255` +
          (t.textKey ? `; text key '${t.textKey}' is prefixed to prompts` : ''),
      );
      console.log(written.join('\n'));
    });
}
