/**
 * Architecture of a CLIP image tower (METHODS 1.1). Everything the forward pass needs besides the weights.
 * A ViT by default; with `resnet` set, OpenAI's ModifiedResNet, described in the same terms: `width` is the
 * stem width, `layers` the total number of Bottlenecks, `heads` those of the attention pool and `patchSize`
 * the overall stride 32, so `gridSize` is the side of the last feature map (layer4) and `visionTokens`
 * the length of the attention pool's sequence.
 */
export interface VisionConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly patchSize: number;
  readonly imageResolution: number;
  readonly resnet?: ResNetConfig;
}

/** OpenAI's ModifiedResNet: Bottlenecks per stage (RN50: [3, 4, 6, 3]). */
export interface ResNetConfig {
  readonly stageBlocks: readonly [number, number, number, number];
}

/** The stride of a ModifiedResNet from pixels to layer4 (stem 4, then three strided stages). */
export const RESNET_STRIDE = 32;

export function isResNet(config: ClipConfig): boolean {
  return config.vision.resnet !== undefined;
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
  const image = v.resnet
    ? `ResNet (${v.resnet.stageBlocks.join('-')} Bottlenecks) @ ${v.imageResolution}px, stem width ${v.width}, attention pool ${v.heads} heads`
    : `ViT-${v.patchSize} @ ${v.imageResolution}px, vision width ${v.width} x ${v.layers} layers (${v.heads} heads)`;
  return (
    `${image}, ` +
    `text width ${t.width} x ${t.layers} layers (${t.heads} heads), context ${t.contextLength}, vocab ${t.vocabSize}, ` +
    `embed ${config.embedDim}`
  );
}
