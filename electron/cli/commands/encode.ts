import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { checkPixels, checkTokenIds, checkVisualPrompts } from '../../../engine/clip/encode-inputs.js';
import { encodeOutputsFor, type EncodeOutputName } from '../../../engine/clip/encode-program.js';
import type { EncodeRequest, EncodeResult } from '../../../engine/clip/encode-request.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { VetbenchError } from '../../../engine/errors.js';
import { readNpyFloat32, readNpyInt32, writeNpy } from '../../../engine/tensor/npy.js';

interface EncodeOptions {
  model: string;
  pixels?: string;
  inputIds?: string;
  visualPrompts?: string;
  promptDepth?: string;
  backend: string;
  out: string;
}

export function registerEncode(program: Command): void {
  program
    .command('encode')
    .description(
      'run a CLIP on pre-processed pixels and token ids; write embeddings, logits, class tokens, attention',
    )
    .requiredOption('--model <weights>', 'CLIP weights (.safetensors, PyTorch .pt/.bin, TorchScript)')
    .option('--pixels <npy>', 'float32 [N,3,H,W], already normalised')
    .option('--input-ids <npy>', 'integer [T,77] token ids')
    .option('--visual-prompts <npy>', 'float32 [L-D,b,W] deep visual prompts')
    .option('--prompt-depth <D>', 'first prompted block (0-based)')
    .addOption(
      new Option('--backend <name>', 'executor')
        .choices(['onnx', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'])
        .default('onnx'),
    )
    .requiredOption('--out <dir>', 'output folder for the .npy files')
    .action(async (opts: EncodeOptions) => {
      if (!opts.pixels && !opts.inputIds) {
        throw new VetbenchError('encode-nothing', 'nothing to encode', 'Pass --pixels, --input-ids or both.');
      }
      if ((opts.visualPrompts === undefined) !== (opts.promptDepth === undefined)) {
        throw new VetbenchError(
          'encode-prompts',
          '--visual-prompts and --prompt-depth go together',
          'Pass both (prompts [L-D,b,W] and the depth D) or neither.',
        );
      }
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      for (const w of weights.source.warnings) console.error(`warning: ${w}`);
      const config = weights.config;

      const pixels = opts.pixels ? await readNpyFloat32(opts.pixels) : undefined;
      if (pixels) checkPixels(pixels, config);
      const ids = opts.inputIds ? await readNpyInt32(opts.inputIds) : undefined;
      if (ids) checkTokenIds(ids, config);
      let prompts: EncodeRequest['prompts'];
      if (opts.visualPrompts) {
        const depth = Number(opts.promptDepth);
        const tensors = await readNpyFloat32(opts.visualPrompts);
        checkVisualPrompts(tensors, depth, config);
        prompts = { depth, tensors };
      }
      const outputs = encodeOutputsFor(config).filter((name: EncodeOutputName) => {
        if (name === 'text_embeds') return ids !== undefined;
        if (name === 'logits_per_image') return ids !== undefined && pixels !== undefined;
        return pixels !== undefined;
      });
      const request: EncodeRequest = {
        ...(pixels ? { pixels } : {}),
        ...(ids ? { text: { ids: ids.data, rows: ids.shape[0] as number } } : {}),
        ...(prompts ? { prompts } : {}),
        outputs,
      };

      const encoder = await createEncoder(weights, opts.backend);
      const result: EncodeResult = await encoder.encode(request);
      await encoder.dispose();
      await mkdir(opts.out, { recursive: true });
      for (const name of outputs) {
        const t = result[name];
        if (!t) throw new Error(`the ${opts.backend} executor produced no ${name}`);
        const file = join(opts.out, `${name}.npy`);
        await writeNpy(file, t.data, t.shape);
        console.log(`${file}  [${t.shape.join(', ')}]`);
      }
    });
}
