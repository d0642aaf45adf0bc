import type { Command } from 'commander';
import { describeWeightFormat, scanWeightFile } from '../../../engine/clip/checkpoints/file-scan.js';
import { describeConfig } from '../../../engine/clip/config.js';
import { loadClipWeights, resolveWeightsFile } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { parameterCount } from '../../../engine/clip/weights.js';
import { emit } from '../output.js';

export function registerInspectModel(program: Command): void {
  program
    .command('inspect-model')
    .description(
      'file format, callables its pickle names (verdict: loadable or refused), architecture, parameters, dtype, naming and fingerprint of a CLIP weights file',
    )
    .argument(
      '<weights>',
      'a .safetensors, PyTorch (.pt/.bin, zip or legacy) or TorchScript file (OpenAI/open_clip or Hugging Face names), its folder, or demo',
    )
    .option('--json', 'print JSON')
    .action(async (path: string, opts: { json?: boolean }) => {
      const file = await resolveWeightsFile(resolveModelPath(path));
      // The file scan comes first and never runs the file: a refused pickle is reported, not loaded.
      const scan = await scanWeightFile(file);
      const callables = scan.callables.map((c) => ({ name: c.name, allowed: c.allowed, count: c.count }));
      const callableLines = callables.map(
        (c) => `    ${c.allowed ? 'allowed' : 'REFUSED'}  ${c.name}${c.count > 1 ? ` (x${c.count})` : ''}`,
      );
      if (scan.verdict === 'refused') {
        const report = {
          path: scan.path,
          format: scan.format,
          verdict: scan.verdict,
          reason: scan.reason,
          callables,
          fingerprint: { algorithm: 'sha256', value: scan.sha256 },
          fileBytes: scan.fileBytes,
        };
        emit(opts.json === true, report, () =>
          [
            `${report.path}`,
            `  format:       ${describeWeightFormat(scan.format)}`,
            `  verdict:      REFUSED: ${scan.reason ?? ''}`,
            `  callables:`,
            ...callableLines,
            `  sha256:       ${scan.sha256}`,
          ].join('\n'),
        );
        return;
      }
      const w = await loadClipWeights(file);
      const report = {
        path: w.source.path,
        format: scan.format,
        verdict: scan.verdict,
        callables,
        architecture: w.config.vision.resnet ? 'CLIP ResNet' : 'CLIP ViT',
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
          `  format:       ${describeWeightFormat(scan.format)}`,
          `  verdict:      loadable${callables.length > 0 ? ' (the pickle names only the callables a checkpoint needs)' : ''}`,
          ...(callables.length > 0 ? [`  callables:`, ...callableLines] : []),
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
