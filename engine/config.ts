/**
 * The engine's one configuration object (like transformers.js's `env`): every switch that can come from the
 * environment is read here, once, and nowhere else in engine/. Callers that are not driven by environment
 * variables (tests, the app) set values with `configureEngine`.
 */
export interface EngineConfig {
  /** onnxruntime intra-op threads (VETBENCH_THREADS); unset = all available cores. */
  readonly threads: number | undefined;
  /** Forced onnxruntime execution providers, comma-separated (VETBENCH_ONNX_PROVIDERS). */
  readonly onnxProviders: string | undefined;
  /** Training-step executor name (VETBENCH_TRAIN_EXECUTOR): onnx or tfjs. */
  readonly trainExecutor: string | undefined;
  /** Forced TF.js backend name (VETBENCH_BACKEND). */
  readonly tfBackend: string | undefined;
}

/** The variable each setting is read from, for messages that say where a bad value came from. */
export const ENGINE_ENV: Readonly<Record<keyof EngineConfig, string>> = {
  threads: 'VETBENCH_THREADS',
  onnxProviders: 'VETBENCH_ONNX_PROVIDERS',
  trainExecutor: 'VETBENCH_TRAIN_EXECUTOR',
  tfBackend: 'VETBENCH_BACKEND',
};

function fromEnvironment(): EngineConfig {
  const value = (key: keyof EngineConfig): string | undefined => process.env[ENGINE_ENV[key]] || undefined;
  const threads = Number(value('threads'));
  return {
    threads: Number.isInteger(threads) && threads > 0 ? threads : undefined,
    onnxProviders: value('onnxProviders'),
    trainExecutor: value('trainExecutor'),
    tfBackend: value('tfBackend'),
  };
}

let current: EngineConfig | null = null;

export function engineConfig(): EngineConfig {
  current ??= fromEnvironment();
  return current;
}

/** Overrides settings for this process (the rest stay as read from the environment). */
export function configureEngine(changes: Partial<EngineConfig>): EngineConfig {
  current = { ...engineConfig(), ...changes };
  return current;
}
