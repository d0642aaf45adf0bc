import type { Graph } from '../onnx/graph.js';
import type { OnnxFeed } from '../onnx/session.js';
import type { Sym, TraceOps } from '../onnx/trace-ops.js';
import { endOfTextMask, type TextInput, type TokenTensors } from './clip-forward.js';

/**
 * Token ids as graph inputs of a traced CLIP: an int64 input `name` [T, ctx] gathered from the embedding
 * table, and a float input `name:eot` [T, ctx, 1] selecting the end-of-text position. One session then serves
 * any texts with the same number of rows. `tokenFeeds` gives the matching values at run time.
 */
export function traceTokenInputs(
  graph: Graph,
  ops: TraceOps,
  embeddingTable: Sym,
  name: string,
  rows: number,
  contextLength: number,
): TokenTensors<Sym> {
  const eotName = `${name}:eot`;
  const ids = graph.has(name) ? graph.value(name) : graph.addInput(name, [rows, contextLength], 'int64');
  const eot = graph.has(eotName) ? graph.value(eotName) : graph.addInput(eotName, [rows, contextLength, 1]);
  return { embeddings: ops.gatherRowsBy(embeddingTable, ids), eotMask: eot };
}

export function tokenFeeds(name: string, text: TextInput, contextLength: number): Record<string, OnnxFeed> {
  return {
    [name]: { int64: BigInt64Array.from(text.ids, (v) => BigInt(v)), shape: [text.rows, contextLength] },
    [`${name}:eot`]: { data: endOfTextMask(text, contextLength), shape: [text.rows, contextLength, 1] },
  };
}
