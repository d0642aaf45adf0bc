import { initTfBackend, parseBackendChoice } from '../tensor/backend.js';
import type { EncodeRequest, EncodeResult } from './encode-request.js';
import { OnnxClip, type ForwardPrecision } from './onnx-clip.js';
import { TfjsClip } from './tfjs-clip.js';
import { encodeWithTfjs } from './tfjs-encode.js';
import type { ClipWeights } from './weights.js';

/** Forward-only CLIP on either executor; callers never care which. */
export interface ClipEncoder {
  readonly executor: string;
  /** Forward precision of image requests (absent: fp32). */
  readonly precision?: ForwardPrecision;
  readonly weights: ClipWeights;
  encode(request: EncodeRequest): Promise<EncodeResult>;
  dispose(): Promise<void>;
}

class TfjsEncoder implements ClipEncoder {
  private readonly model: TfjsClip;
  constructor(
    readonly weights: ClipWeights,
    readonly executor: string,
  ) {
    this.model = new TfjsClip(weights);
  }
  encode(request: EncodeRequest): Promise<EncodeResult> {
    return encodeWithTfjs(this.model, request);
  }
  async dispose(): Promise<void> {
    this.model.dispose();
  }
}

class OnnxEncoder implements ClipEncoder {
  readonly executor: string;
  private readonly onnx: OnnxClip;
  constructor(
    readonly weights: ClipWeights,
    readonly precision: ForwardPrecision,
  ) {
    this.onnx = new OnnxClip(weights, precision);
    this.executor = precision === 'fp32' ? 'onnxruntime' : `onnxruntime-${precision}`;
  }
  encode(request: EncodeRequest): Promise<EncodeResult> {
    return this.onnx.encode(request);
  }
  dispose(): Promise<void> {
    return this.onnx.dispose();
  }
}

/**
 * `onnx` (the default for forward-only work) or a TF.js backend name. `precision` int8 (onnx only) quantises the
 * image tower's weights; callers check its agreement with fp32 (eval/precision-check.ts) before trusting it.
 */
export async function createEncoder(
  weights: ClipWeights,
  backend = 'onnx',
  precision: ForwardPrecision = 'fp32',
): Promise<ClipEncoder> {
  if (backend === 'onnx') return new OnnxEncoder(weights, precision);
  if (precision !== 'fp32') throw new Error(`precision ${precision} needs the onnx backend, not ${backend}`);
  const report = await initTfBackend(parseBackendChoice(backend, '--backend'));
  return new TfjsEncoder(weights, `tfjs-${report.selected}`);
}
