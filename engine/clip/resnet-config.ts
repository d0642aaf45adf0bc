import { VetbenchError } from '../errors.js';
import { formatShape } from '../tensor/host-tensor.js';
import { RESNET_STRIDE, type VisionConfig } from './config.js';

/**
 * The architecture of a ModifiedResNet image tower, read from its tensor shapes (OpenAI names):
 * stem width from visual.conv3, Bottlenecks per stage from the visual.layerK.I names, resolution from the
 * attention pool's positions, heads by OpenAI's rule (width * 32 / 64, as clip/model.py builds it).
 */

const STAGE_BLOCK = /^visual\.layer([1-4])\.(\d+)\.conv1\.weight$/;
const ATTNPOOL_HEAD_DIM = 64;

function shapeError(name: string, expected: string, found: readonly number[] | undefined): VetbenchError {
  return new VetbenchError(
    'weights-shape-mismatch',
    `${name} should be ${expected}, found ${found ? formatShape(found) : 'nothing'}`,
    'The file is not a standard OpenAI ResNet CLIP (or is corrupt); export the model state dict again.',
  );
}

export function isResNetTensorNames(names: readonly string[]): boolean {
  return (
    names.includes('visual.attnpool.positional_embedding') ||
    names.some((n) => n.startsWith('visual.layer1.'))
  );
}

export function inferResNetVision(
  names: readonly string[],
  shapeOf: (name: string) => readonly number[] | undefined,
): { vision: VisionConfig; embedDim: number } {
  const conv3 = shapeOf('visual.conv3.weight');
  const width = conv3?.[0];
  if (!conv3 || conv3.length !== 4 || !width || width % 2 !== 0 || conv3[1] !== width / 2) {
    throw shapeError('visual.conv3.weight', '[width, width/2, 3, 3]', conv3);
  }
  const stages: number[][] = [[], [], [], []];
  for (const name of names) {
    const match = STAGE_BLOCK.exec(name);
    if (match) stages[Number(match[1]) - 1]?.push(Number(match[2]));
  }
  const stageBlocks = stages.map((indices, s) => {
    const count = indices.length === 0 ? 0 : Math.max(...indices) + 1;
    if (count === 0 || indices.length !== count) {
      throw new VetbenchError(
        'weights-missing-tensors',
        `ResNet stage visual.layer${s + 1} has ${indices.length === 0 ? 'no Bottlenecks' : `Bottlenecks ${indices.sort((a, b) => a - b).join(', ')} with gaps`}`,
        'The file is incomplete or was pruned; export the full model state dict.',
      );
    }
    return count;
  }) as [number, number, number, number];
  const features = width * 32;
  const positions = shapeOf('visual.attnpool.positional_embedding');
  const grid = Math.round(Math.sqrt((positions?.[0] ?? 0) - 1));
  if (
    !positions ||
    positions.length !== 2 ||
    positions[1] !== features ||
    grid < 1 ||
    grid * grid + 1 !== positions[0]
  ) {
    throw shapeError('visual.attnpool.positional_embedding', `[grid^2 + 1, ${features}]`, positions);
  }
  const cProj = shapeOf('visual.attnpool.c_proj.weight');
  const embedDim = cProj?.[0];
  if (!cProj || cProj.length !== 2 || cProj[1] !== features || !embedDim) {
    throw shapeError('visual.attnpool.c_proj.weight', `[embed, ${features}]`, cProj);
  }
  if (features % ATTNPOOL_HEAD_DIM !== 0) {
    throw shapeError(
      'visual.conv3.weight',
      'a stem width that is a multiple of 2 (attention pool heads of 64)',
      conv3,
    );
  }
  return {
    embedDim,
    vision: {
      width,
      layers: stageBlocks.reduce((a, b) => a + b, 0),
      heads: features / ATTNPOOL_HEAD_DIM,
      patchSize: RESNET_STRIDE,
      imageResolution: grid * RESNET_STRIDE,
      resnet: { stageBlocks },
    },
  };
}
