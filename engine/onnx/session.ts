import os from 'node:os';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { VetbenchError } from '../errors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { Graph } from './graph.js';
import { toOnnxModel } from './serialize.js';
import { engineConfig } from '../config.js';

/**
 * onnxruntime-node sessions. The CPU provider always works; CUDA is used where its add-on is installed;
 * WebGPU (bundled, needs a GPU adapter) is opt-in because a software adapter is far slower than the CPU.
 * VETBENCH_ONNX_PROVIDERS (e.g. "webgpu" or "cuda,cpu") forces the list.
 * Sessions are expensive to build (graph optimisation), so callers cache them per graph shape.
 */
export type OnnxProvider = 'cuda' | 'webgpu' | 'cpu';
export const ONNX_PROVIDERS_ENV = 'VETBENCH_ONNX_PROVIDERS';

export interface OnnxRuntimeInfo {
  readonly version: string;
  /** Providers sessions are created with, in order of preference. */
  readonly providers: readonly OnnxProvider[];
  readonly forced: boolean;
  readonly unavailable: readonly { provider: string; reason: string }[];
  /** Providers that work here but are not used unless asked for. */
  readonly optIn: readonly { provider: string; note: string }[];
  readonly threads: number;
}

const require = createRequire(import.meta.url);
const cachedInfo = new Map<boolean, Promise<OnnxRuntimeInfo>>();

export function onnxThreads(): number {
  return engineConfig().threads ?? os.availableParallelism();
}

function cudaProviderPresent(): boolean {
  try {
    const dir = require.resolve('onnxruntime-node').replace(/dist[/\\].*$/, '');
    const fs = require('node:fs') as typeof import('node:fs');
    const bin = `${dir}bin/napi-v6/${process.platform}/${process.arch}`;
    return (
      fs.existsSync(`${bin}/libonnxruntime_providers_cuda.so`) ||
      fs.existsSync(`${bin}/onnxruntime_providers_cuda.dll`)
    );
  } catch {
    return false;
  }
}

/** A one-node model, to see whether a provider can start here. */
function probeModel(): Uint8Array {
  const g = new Graph();
  const x = g.addInput('x', [2]);
  g.addNode('Neg', [x.name], [[2]]);
  g.markOutput(g.nodes[0]!.outputs[0]!, 'y');
  return toOnnxModel(g, 'probe');
}

async function probeProvider(provider: OnnxProvider): Promise<string | null> {
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [provider] });
    const r = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2), [2]) });
    const ok = (r.y?.data as Float32Array | undefined)?.[1] === 2;
    await session.release();
    return ok ? null : 'it ran but gave a wrong result';
  } catch (e) {
    const message = (e as Error).message;
    const reason = /No supported adapters|Failed to get a WebGPU adapter/.test(message)
      ? "no WebGPU adapter (no GPU driver, or Vulkan missing; Debian chromium's SwiftShader gives a software one)"
      : message.split('\n')[0]!;
    return reason;
  }
}

function parseProviders(value: string): OnnxProvider[] {
  const list = value
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  for (const p of list) {
    if (p !== 'cuda' && p !== 'webgpu' && p !== 'cpu') {
      throw new VetbenchError(
        'onnx-provider-unknown',
        `unknown onnxruntime provider '${p}' in ${ONNX_PROVIDERS_ENV}`,
        'Use a comma list of cuda, webgpu, cpu.',
      );
    }
  }
  return list as OnnxProvider[];
}

async function detect(probeOptIn: boolean): Promise<OnnxRuntimeInfo> {
  const version = (require('onnxruntime-node/package.json') as { version: string }).version;
  const unavailable: { provider: string; reason: string }[] = [];
  const optIn: { provider: string; note: string }[] = [];
  const forcedValue = engineConfig().onnxProviders;
  if (forcedValue) {
    const providers = parseProviders(forcedValue);
    for (const p of providers) {
      const failure =
        p === 'cuda' && !cudaProviderPresent() ? 'the CUDA add-on is not installed' : await probeProvider(p);
      if (failure) {
        throw new VetbenchError(
          'onnx-provider-unavailable',
          `onnxruntime provider '${p}' (forced by ${ONNX_PROVIDERS_ENV}) cannot start: ${failure}`,
          `Unset ${ONNX_PROVIDERS_ENV} or choose another provider.`,
        );
      }
    }
    return { version, providers, forced: true, unavailable, optIn, threads: onnxThreads() };
  }
  const providers: OnnxProvider[] = [];
  if (cudaProviderPresent()) {
    const failure = await probeProvider('cuda');
    if (failure) unavailable.push({ provider: 'cuda', reason: failure });
    else providers.push('cuda');
  } else {
    unavailable.push({
      provider: 'cuda',
      reason:
        'the CUDA add-on is not installed (npm installed it with ONNXRUNTIME_NODE_INSTALL=skip; reinstall onnxruntime-node with internet on a CUDA machine)',
    });
  }
  // Probing WebGPU starts a GPU context (and Dawn prints to stderr when Vulkan is missing): only when asked.
  const webgpu = probeOptIn ? await probeProvider('webgpu') : 'not probed';
  if (webgpu === 'not probed')
    optIn.push({ provider: 'webgpu', note: `not probed; \`vetbench info\` checks it` });
  else if (webgpu) unavailable.push({ provider: 'webgpu', reason: webgpu });
  else
    optIn.push({
      provider: 'webgpu',
      note: `an adapter answers; use it with ${ONNX_PROVIDERS_ENV}=webgpu (a software adapter is slower than the CPU)`,
    });
  providers.push('cpu');
  return { version, providers, forced: false, unavailable, optIn, threads: onnxThreads() };
}

/** Providers in use; `probeOptIn` also checks the opt-in ones (slower, for `vetbench info`). */
export function onnxRuntimeInfo(probeOptIn = false): Promise<OnnxRuntimeInfo> {
  let info = cachedInfo.get(probeOptIn);
  if (!info) {
    info = detect(probeOptIn);
    cachedInfo.set(probeOptIn, info);
  }
  return info;
}

export async function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  const info = await onnxRuntimeInfo();
  return ort.InferenceSession.create(model, {
    executionProviders: [...info.providers],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: node-placement notes are not the user's concern
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
