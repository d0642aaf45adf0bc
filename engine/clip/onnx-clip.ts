import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { toOnnxModel } from '../onnx/serialize.js';
import { createSession, runSession, type OnnxFeed } from '../onnx/session.js';
import { TraceOps, type Sym } from '../onnx/trace-ops.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { endOfTextMask, type ClipGraph } from './clip-forward.js';
import { clipParamTensors } from './clip-params.js';
import { encodeProgram, type EncodeOutputName } from './encode-program.js';
import type { EncodeRequest, EncodeResult } from './encode-request.js';
import type { ClipWeights } from './weights.js';

/** Builds ONNX graphs of a loaded CLIP (specialised per request shape) and runs them on onnxruntime. */
export class OnnxClip {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly params: Map<string, HostTensor>;

  constructor(readonly weights: ClipWeights) {
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
      tokens: (input) => ({
        embeddings: ops.gatherRowsBy(
          params.get('token_embedding.weight'),
          graph.addInput('input_ids', [input.rows, ctx], 'int64'),
        ),
        eotMask: graph.addInput('eot_mask', [input.rows, ctx, 1]),
      }),
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
    // Token ids are baked into the graph as constants, so they are part of the key.
    if (request.text)
      h.update(
        new Uint8Array(request.text.ids.buffer, request.text.ids.byteOffset, request.text.ids.byteLength),
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
    if (request.text) {
      const shape = [request.text.rows, this.weights.config.text.contextLength, 1];
      feeds.input_ids = {
        int64: BigInt64Array.from(request.text.ids, (v) => BigInt(v)),
        shape: shape.slice(0, 2),
      };
      feeds.eot_mask = { data: endOfTextMask(request.text, shape[1] as number), shape };
    }
    if (request.prompts) feeds.visual_prompts = request.prompts.tensors;
    if (request.context) feeds.text_context = request.context;
    const s = await session;
    const names = s.outputNames as EncodeOutputName[];
    return (await runSession(s, feeds, names)) as EncodeResult;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
