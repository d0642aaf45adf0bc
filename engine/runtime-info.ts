import os from 'node:os';
import { initTfBackend, type BackendReport, type TfBackendChoice } from './tensor/backend.js';
import { onnxRuntimeInfo, type OnnxRuntimeInfo } from './onnx/session.js';
import { packageVersion as versionOf, vetbenchVersion } from './paths.js';
import { parseTrainingExecutor, TRAIN_EXECUTOR_ENV } from './train/create-trainer.js';
import { engineConfig } from './config.js';

/** Which executor does each kind of work, and why (shown by `vetbench info`, recorded in run provenance). */
export interface WorkRouting {
  readonly kind: string;
  readonly executor: string;
  readonly why: string;
}

export interface RuntimeInfo {
  readonly vetbench: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly tfjs: BackendReport;
  readonly onnx: OnnxRuntimeInfo;
  readonly routing: readonly WorkRouting[];
  readonly packages: Readonly<Record<string, string | null>>;
}

export async function runtimeInfo(forced?: TfBackendChoice): Promise<RuntimeInfo> {
  const tfjs = await initTfBackend(forced);
  const onnx = await onnxRuntimeInfo(true);
  const onnxProvider = onnx.providers[0] ?? 'cpu';
  const envExecutor = engineConfig().trainExecutor;
  const trainExecutor = envExecutor ? parseTrainingExecutor(envExecutor, TRAIN_EXECUTOR_ENV) : 'onnx';
  const routing: WorkRouting[] = [
    {
      kind: 'forward-only (evaluation, scanning, feature extraction, frozen reference pass)',
      executor: `onnxruntime ${onnxProvider}`,
      why: 'graph-optimised kernels, several times faster than TF.js for inference',
    },
    trainExecutor === 'onnx'
      ? {
          kind: 'training steps (prompt tuning, trigger optimisation, fine-tuning, pretraining)',
          executor: `onnxruntime ${onnxProvider}`,
          why: 'the tensor program is traced and differentiated into standard ONNX ops (set VETBENCH_TRAIN_EXECUTOR=tfjs for TF.js)',
        }
      : {
          kind: 'training steps (prompt tuning, trigger optimisation, fine-tuning, pretraining)',
          executor: `TF.js ${tfjs.selected}`,
          why: 'forced by VETBENCH_TRAIN_EXECUTOR=tfjs',
        },
    {
      kind: 'reference and fallback (eager autodiff, explanations)',
      executor: `TF.js ${tfjs.selected}`,
      why: 'differentiates the same tensor program eagerly; used to check the traced gradients',
    },
  ];
  return {
    vetbench: vetbenchVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    tfjs,
    onnx,
    routing,
    packages: {
      '@tensorflow/tfjs': versionOf('@tensorflow/tfjs'),
      '@tensorflow/tfjs-backend-wasm': versionOf('@tensorflow/tfjs-backend-wasm'),
      '@tensorflow/tfjs-node': versionOf('@tensorflow/tfjs-node'),
      '@tensorflow/tfjs-node-gpu': versionOf('@tensorflow/tfjs-node-gpu'),
      'onnxruntime-node': versionOf('onnxruntime-node'),
      sharp: versionOf('sharp'),
    },
  };
}
