import type { Command } from 'commander';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { VetbenchError } from '../../../engine/errors.js';

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'rewrite CLIP weights (PyTorch .pt/.bin, TorchScript, safetensors) as safetensors with OpenAI names',
    )
    .argument('<weights>', 'the weights file or its folder')
    .requiredOption('--out <file>', 'the .safetensors file to write')
    .action(async (path: string, opts: { out: string }) => {
      if (!opts.out.endsWith('.safetensors')) {
        throw new VetbenchError(
          'convert-out',
          `--out ${opts.out} does not end in .safetensors`,
          'Name the output file x.safetensors.',
        );
      }
      const weights = await loadClipWeights(resolveModelPath(path));
      // Keep half precision when the source was all F16 (no precision to gain); anything else is written F32.
      const dtype = weights.source.dtypes.every((d) => d === 'F16') ? 'F16' : 'F32';
      await saveClipWeights(opts.out, weights.config, weights.tensors, {
        dtype,
        metadata: {
          converted_from: weights.source.format ?? 'unknown',
          source_sha256: weights.source.fingerprint,
        },
      });
      console.log(`${opts.out}  (${dtype}, OpenAI names, from ${weights.source.format ?? 'a weights file'})`);
    });
}
