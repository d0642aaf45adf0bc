import { readFileWithHash } from '../safetensors.js';
import type { ReferencedGlobal } from './pickle/unpickler.js';
import type { WeightFileFormat } from './read-weights-file.js';
import { isTorchCheckpoint, scanTorchCheckpoint } from './torch-checkpoint.js';

/**
 * The first vetting step for a file from outside: what container it is, which callables its pickle names
 * (read without running any) and whether Vetbench will load it. Safetensors files hold no code at all.
 */
export interface WeightFileScan {
  readonly path: string;
  readonly format: WeightFileFormat;
  readonly fileBytes: number;
  readonly sha256: string;
  readonly callables: readonly ReferencedGlobal[];
  readonly verdict: 'loadable' | 'refused';
  /** Why it is refused (a callable no checkpoint needs, or damage). */
  readonly reason?: string;
}

export async function scanWeightFile(path: string): Promise<WeightFileScan> {
  const { bytes, sha256 = '' } = await readFileWithHash(path, true);
  if (!isTorchCheckpoint(bytes)) {
    return {
      path,
      format: 'safetensors',
      fileBytes: bytes.length,
      sha256,
      callables: [],
      verdict: 'loadable',
    };
  }
  const scan = scanTorchCheckpoint(bytes, path);
  return {
    path,
    format: scan.format,
    fileBytes: bytes.length,
    sha256,
    callables: scan.globals,
    verdict: scan.refusal === undefined ? 'loadable' : 'refused',
    ...(scan.refusal === undefined ? {} : { reason: scan.refusal }),
  };
}

const FORMAT_NAMES: Readonly<Record<WeightFileFormat, string>> = {
  safetensors: 'safetensors (no code)',
  'torch-zip': 'PyTorch zip archive (torch.save), pickle read without running it',
  torchscript:
    'TorchScript archive (torch.jit.save), pickle read without running it; its code/ is never read',
  'torch-legacy': 'PyTorch legacy stream (torch.save before 1.6), pickle read without running it',
};

export function describeWeightFormat(format: WeightFileFormat): string {
  return FORMAT_NAMES[format];
}

/** One line for lists and reports, e.g. "TorchScript archive ...: loadable; pickle names 5 callables, all allowed". */
export function summarizeFileScan(scan: WeightFileScan): string {
  const refused = scan.callables.filter((c) => !c.allowed).map((c) => c.name);
  const callables =
    scan.format === 'safetensors'
      ? 'no code'
      : `pickle names ${scan.callables.length} callable${scan.callables.length === 1 ? '' : 's'}` +
        (refused.length === 0 ? ', all allowed' : `, refused: ${refused.join(', ')}`);
  return `${describeWeightFormat(scan.format)}: ${scan.verdict}; ${callables}`;
}
