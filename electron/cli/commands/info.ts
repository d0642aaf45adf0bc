import { Option, type Command } from 'commander';
import { runtimeInfo } from '../../../engine/runtime-info.js';
import { parseBackendChoice, TF_BACKEND_CHOICES } from '../../../engine/tensor/backend.js';
import { emit } from '../output.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show compute backends in use, why better ones were not used, threads and versions')
    .option('--json', 'print JSON')
    .addOption(
      new Option(
        '--backend <name>',
        `force a TF.js backend (${TF_BACKEND_CHOICES.join(', ')}); also VETBENCH_BACKEND`,
      ),
    )
    .action(async (opts: { json?: boolean; backend?: string }) => {
      const info = await runtimeInfo(
        opts.backend ? parseBackendChoice(opts.backend, '--backend') : undefined,
      );
      emit(opts.json === true, info, () => {
        const lines = [
          `Vetbench ${info.vetbench} on Node ${info.node} (${info.platform}), ${info.cores} cores, ${info.memoryGiB} GiB`,
          `CPU: ${info.cpu}`,
          '',
          `TF.js backend: ${info.tfjs.selected}${info.tfjs.forced ? ' (forced)' : ''}, ${info.tfjs.threads} thread(s)` +
            (info.tfjs.simd === null ? '' : `, SIMD ${info.tfjs.simd ? 'on' : 'off'}`) +
            `, tfjs ${info.tfjs.tfjsVersion}`,
        ];
        for (const a of info.tfjs.attempts) if (!a.ok) lines.push(`  not used: ${a.backend}: ${a.reason}`);
        lines.push(
          `onnxruntime-node ${info.onnx.version}: providers ${info.onnx.providers.join(', ')}${info.onnx.forced ? ' (forced)' : ''}, ${info.onnx.threads} thread(s)`,
        );
        for (const u of info.onnx.unavailable) lines.push(`  not used: ${u.provider}: ${u.reason}`);
        for (const o of info.onnx.optIn) lines.push(`  opt-in: ${o.provider}: ${o.note}`);
        lines.push('', 'Work routing:');
        for (const r of info.routing) lines.push(`  ${r.kind}: ${r.executor} (${r.why})`);
        return lines.join('\n');
      });
    });
}
