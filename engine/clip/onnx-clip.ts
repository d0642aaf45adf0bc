import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { quantizeLinearWeights } from '../onnx/quantize-int8.js';
import { toOnnxModel } from '../onnx/serialize.js';
import { createSession, runSession, type OnnxFeed } from '../onnx/session.js';
import { TraceOps, type Sym } from '../onnx/trace-ops.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ClipGraph } from './clip-forward.js';
import { clipParamTensors } from './clip-params.js';
import { encodeProgram, type EncodeOutputName } from './encode-program.js';
import { tokenFeeds, traceTokenInputs } from './onnx-token-inputs.js';
import type { EncodeRequest, EncodeResult } from './encode-request.js';
import type { ClipWeights } from './weights.js';

/** Name of the token-id graph input (its end-of-text mask is `input_ids:eot`). */
const TEXT_INPUT = 'input_ids';

/**
 * Forward precision: fp32, or int8 weights with dynamic activation quantisation in the image tower
 * (onnx/quantize-int8.ts; text requests stay fp32 so class heads are unchanged).
 */
export type ForwardPrecision = 'fp32' | 'int8';

/** Builds ONNX graphs of a loaded CLIP (specialised per request shape) and runs them on onnxruntime. */
export class OnnxClip {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly params: Map<string, HostTensor>;

  constructor(
    readonly weights: ClipWeights,
    readonly precision: ForwardPrecision = 'fp32',
  ) {
    this.params = clipParamTensors(weights);
  }

  /** The ONNX model for a request, for export or inspection. */
  buildModel(request: EncodeRequest): Uint8Array {
    const graph = new Graph();
    const ops = new TraceOps(graph);
    const params = {
      get: (name: string): Sym => {
        const t = this.params.get(name);
        if (!t) throw new Error(`model has no parameter '${name}'`);
        return graph.addInitializer(name, t.data, t.shape);
      },
    };
    const ctx = this.weights.config.text.contextLength;
    const g: ClipGraph<Sym> = {
      ops,
      params,
      config: this.weights.config,
      tokens: (input) =>
        traceTokenInputs(graph, ops, params.get('token_embedding.weight'), TEXT_INPUT, input.rows, ctx),
    };
    const pixels = request.pixels ? graph.addInput('pixels', request.pixels.shape) : undefined;
    const prompts = request.prompts
      ? {
          depth: request.prompts.depth,
          tensors: graph.addInput('visual_prompts', request.prompts.tensors.shape),
        }
      : undefined;
    const context = request.context ? graph.addInput('text_context', request.context.shape) : undefined;
    const outputs = encodeProgram(
      g,
      {
        ...(pixels ? { pixels } : {}),
        ...(prompts ? { prompts } : {}),
        ...(request.text ? { text: request.text } : {}),
        ...(context ? { context } : {}),
      },
      this.weights.logitScale,
      new Set(request.outputs),
    );
    if (this.precision === 'int8' && pixels && !request.text && !context) quantizeLinearWeights(graph);
    for (const [name, sym] of Object.entries(outputs)) graph.markOutput(sym.name, name);
    return toOnnxModel(graph, 'vetbench-clip-encode');
  }

  private sessionKey(request: EncodeRequest): string {
    const h = createHash('sha256');
    h.update(
      JSON.stringify({
        pixels: request.pixels?.shape,
        prompts: request.prompts ? [request.prompts.depth, request.prompts.tensors.shape] : null,
        context: request.context?.shape,
        outputs: [...request.outputs].sort(),
        rows: request.text?.rows,
      }),
    );
    return h.digest('hex');
  }

  async encode(request: EncodeRequest): Promise<EncodeResult> {
    const key = this.sessionKey(request);
    let session = this.sessions.get(key);
    if (!session) {
      session = createSession(this.buildModel(request));
      this.sessions.set(key, session);
    }
    const feeds: Record<string, OnnxFeed> = {};
    if (request.pixels) feeds.pixels = request.pixels;
    if (request.text)
      Object.assign(feeds, tokenFeeds(TEXT_INPUT, request.text, this.weights.config.text.contextLength));
    if (request.prompts) feeds.visual_prompts = request.prompts.tensors;
    if (request.context) feeds.text_context = request.context;
    const s = await session;
    const names = s.outputNames as EncodeOutputName[];
    return (await runSession(s, feeds, names)) as EncodeResult;
  }

  /** Sessions built so far (one per request shape). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
