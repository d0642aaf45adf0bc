import type { Command } from 'commander';
import { describeConfig } from '../../../engine/clip/config.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { parameterCount } from '../../../engine/clip/weights.js';
import { emit } from '../output.js';

export function registerInspectModel(program: Command): void {
  program
    .command('inspect-model')
    .description('architecture, parameter count, dtype, naming and fingerprint of a CLIP weights file')
    .argument(
      '<weights>',
      'a .safetensors file (OpenAI/open_clip or Hugging Face names), its folder, or demo',
    )
    .option('--json', 'print JSON')
    .action(async (path: string, opts: { json?: boolean }) => {
      const w = await loadClipWeights(resolveModelPath(path));
      const report = {
        path: w.source.path,
        architecture: 'CLIP ViT',
        config: w.config,
        parameters: parameterCount(w),
        dtypes: w.source.dtypes,
        naming: w.source.naming,
        logitScale: { stored: w.logitScale, exp: Math.exp(w.logitScale) },
        fingerprint: { algorithm: 'sha256', value: w.source.fingerprint },
        fileBytes: w.source.fileBytes,
        nonFiniteTensors: w.source.nonFiniteTensors,
        warnings: w.source.warnings,
      };
      emit(opts.json === true, report, () =>
        [
          `${report.path}`,
          `  architecture: ${describeConfig(w.config)}`,
          `  parameters:   ${report.parameters.toLocaleString('en-US')}`,
          `  stored as:    ${report.dtypes.join(', ')}, ${report.naming === 'openai' ? 'OpenAI/open_clip' : 'Hugging Face'} names`,
          `  logit scale:  ${report.logitScale.exp.toFixed(4)} (stored log ${report.logitScale.stored.toFixed(6)})`,
          `  sha256:       ${report.fingerprint.value}`,
          ...report.warnings.map((m) => `  warning: ${m}`),
        ].join('\n'),
      );
    });
}
