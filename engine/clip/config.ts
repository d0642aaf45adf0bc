/** Architecture of a CLIP ViT model (METHODS 1.1). Everything the forward pass needs besides the weights. */
export interface VisionConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly patchSize: number;
  readonly imageResolution: number;
}

export interface TextConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly contextLength: number;
  readonly vocabSize: number;
}

export interface ClipConfig {
  readonly embedDim: number;
  readonly vision: VisionConfig;
  readonly text: TextConfig;
}

export const LAYER_NORM_EPS = 1e-5;
export const DEFAULT_HEAD_DIM = 64;

export function gridSize(vision: VisionConfig): number {
  return vision.imageResolution / vision.patchSize;
}

/** Number of tokens of the unprompted image sequence: class token + patches. */
export function visionTokens(vision: VisionConfig): number {
  return 1 + gridSize(vision) ** 2;
}

export function describeConfig(config: ClipConfig): string {
  const v = config.vision;
  const t = config.text;
  return (
    `ViT-${v.patchSize} @ ${v.imageResolution}px, vision width ${v.width} x ${v.layers} layers (${v.heads} heads), ` +
    `text width ${t.width} x ${t.layers} layers (${t.heads} heads), context ${t.contextLength}, vocab ${t.vocabSize}, ` +
    `embed ${config.embedDim}`
  );
}
