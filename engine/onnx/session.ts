import os from 'node:os';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { HostTensor } from '../tensor/host-tensor.js';

/**
 * onnxruntime-node sessions. The CPU provider always works; CUDA is used where its add-on is installed.
 * Sessions are expensive to build (graph optimisation), so callers cache them per graph shape.
 */
export type OnnxProvider = 'cuda' | 'cpu';

export interface OnnxRuntimeInfo {
  readonly version: string;
  readonly providers: readonly OnnxProvider[];
  readonly unavailable: readonly { provider: string; reason: string }[];
  readonly threads: number;
}

const require = createRequire(import.meta.url);
let cachedInfo: OnnxRuntimeInfo | null = null;

export function onnxThreads(): number {
  const fromEnv = Number(process.env.VETBENCH_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.availableParallelism();
}

function cudaProviderPresent(): boolean {
  try {
    const dir = require.resolve('onnxruntime-node').replace(/dist[/\\].*$/, '');
    const fs = require('node:fs') as typeof import('node:fs');
    const bin = `${dir}bin/napi-v6/${process.platform}/${process.arch}`;
    return fs.existsSync(`${bin}/libonnxruntime_providers_cuda.so`);
  } catch {
    return false;
  }
}

export function onnxRuntimeInfo(): OnnxRuntimeInfo {
  if (cachedInfo) return cachedInfo;
  const version = (require('onnxruntime-node/package.json') as { version: string }).version;
  const providers: OnnxProvider[] = [];
  const unavailable: { provider: string; reason: string }[] = [];
  if (cudaProviderPresent()) providers.push('cuda');
  else
    unavailable.push({
      provider: 'cuda',
      reason:
        'the CUDA add-on is not installed (installed with ONNXRUNTIME_NODE_INSTALL=skip; reinstall with internet and a GPU)',
    });
  providers.push('cpu');
  cachedInfo = { version, providers, unavailable, threads: onnxThreads() };
  return cachedInfo;
}

export async function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  const info = onnxRuntimeInfo();
  return ort.InferenceSession.create(model, {
    executionProviders: [...info.providers],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: info.threads,
    interOpNumThreads: 1,
  });
}

/** An int64 graph input (token ids). */
export interface Int64Feed {
  readonly shape: readonly number[];
  readonly int64: BigInt64Array;
}

export type OnnxFeed = HostTensor | Int64Feed;

export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, OnnxFeed>,
  outputs: readonly string[],
): Promise<Record<string, HostTensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    ortFeeds[name] =
      'int64' in t
        ? new ort.Tensor('int64', t.int64, [...t.shape])
        : new ort.Tensor('float32', t.data, [...t.shape]);
  }
  const result = await session.run(ortFeeds, [...outputs]);
  const out: Record<string, HostTensor> = {};
  for (const name of outputs) {
    const t = result[name];
    if (!t) throw new Error(`onnxruntime returned no output '${name}'`);
    out[name] = { data: Float32Array.from(t.data as Float32Array), shape: t.dims.map(Number) };
    t.dispose();
  }
  return out;
}
