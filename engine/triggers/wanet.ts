import { VetbenchError } from '../errors.js';
import { num, type ParamSpecs } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { checkBatch, fixedRng, restoredTensor } from './patch.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

const PARAMS: ParamSpecs = {
  gridSize: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: 1024,
    help: 'k, the side of the random control grid before upsampling; 0 means the resolution R (METHODS: k = 224), the WaNet paper uses 4',
  },
  strength: {
    kind: 'number',
    default: 1,
    min: 0,
    help: 's, the warp strength: grid = clamp(identity + s * r / R, -1, 1); 0 gives the identity warp',
  },
};

/**
 * WaNet's control grid r ~ U(-1, 1)^{2 x k x k}, divided by mean |r| (so its mean absolute value is 1), drawn
 * from the seed's stream `trigger:wanet:noise`. Layout [2, k, k]: plane 0 moves along x (columns), plane 1 along
 * y (rows), the order of grid_sample's last axis.
 */
export function wanetNoise(seed: number, k: number): Float64Array {
  const rng = fixedRng(seed, 'wanet:noise');
  const r = new Float64Array(2 * k * k);
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    r[i] = rng.range(-1, 1);
    sum += Math.abs(r[i]!);
  }
  const mean = sum / r.length;
  if (mean > 0) for (let i = 0; i < r.length; i++) r[i] = r[i]! / mean;
  return r;
}

/**
 * Bilinear resize of `channels` planes of k x k to R x R with align_corners=True (torch
 * `F.interpolate(mode='bilinear', align_corners=True)`): output pixel i samples source position i * (k-1)/(R-1),
 * so the corner values are kept exactly. With k = R it is the identity.
 */
export function upsampleBilinearAlignCorners(
  src: Float64Array,
  channels: number,
  k: number,
  size: number,
): Float64Array {
  if (src.length !== channels * k * k) {
    throw new RangeError(`upsample: ${src.length} values for ${channels}x${k}x${k}`);
  }
  const out = new Float64Array(channels * size * size);
  const scale = size > 1 ? (k - 1) / (size - 1) : 0;
  const axis = Array.from({ length: size }, (_, i) => {
    const pos = i * scale;
    const lo = Math.min(Math.floor(pos), k - 1);
    const hi = Math.min(lo + 1, k - 1);
    return { lo, hi, w: pos - lo };
  });
  for (let c = 0; c < channels; c++) {
    const plane = c * k * k;
    for (let i = 0; i < size; i++) {
      const { lo: y0, hi: y1, w: wy } = axis[i]!;
      for (let j = 0; j < size; j++) {
        const { lo: x0, hi: x1, w: wx } = axis[j]!;
        const top = src[plane + y0 * k + x0]! * (1 - wx) + src[plane + y0 * k + x1]! * wx;
        const bottom = src[plane + y1 * k + x0]! * (1 - wx) + src[plane + y1 * k + x1]! * wx;
        out[(c * size + i) * size + j] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** torch.linspace(-1, 1, R)[i]: the normalised coordinate of pixel i with align corners (0 when R = 1). */
export function identityCoordinate(i: number, resolution: number): number {
  return resolution > 1 ? -1 + (2 * i) / (resolution - 1) : 0;
}

/**
 * The warp of a seed: `field` is the upsampled control grid [R, R, 2] (x then y displacement, before scaling
 * by s / R), `grid` = clamp(identity + s * field / R, -1, 1) as float32 [R, R, 2] (grid_sample's layout: row,
 * column, (x, y)).
 */
export function wanetGrid(
  seed: number,
  resolution: number,
  params: { readonly gridSize: number; readonly strength: number },
): { readonly field: Float64Array; readonly grid: Float32Array } {
  const k = params.gridSize === 0 ? resolution : params.gridSize;
  const planes = upsampleBilinearAlignCorners(wanetNoise(seed, k), 2, k, resolution);
  const plane = resolution * resolution;
  const field = new Float64Array(2 * plane);
  const grid = new Float32Array(2 * plane);
  for (let i = 0; i < resolution; i++) {
    for (let j = 0; j < resolution; j++) {
      const p = i * resolution + j;
      const dx = planes[p]!;
      const dy = planes[plane + p]!;
      field[2 * p] = dx;
      field[2 * p + 1] = dy;
      grid[2 * p] = clampUnit(identityCoordinate(j, resolution) + (params.strength * dx) / resolution);
      grid[2 * p + 1] = clampUnit(identityCoordinate(i, resolution) + (params.strength * dy) / resolution);
    }
  }
  return { field, grid };
}

function clampUnit(v: number): number {
  return v < -1 ? -1 : v > 1 ? 1 : v;
}

/** Per output pixel, the 4 source pixels (-1 when outside: zero padding) and their bilinear weights. */
interface SamplingPlan {
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

function samplingPlan(grid: Float32Array, resolution: number): SamplingPlan {
  const plane = resolution * resolution;
  const index = new Int32Array(4 * plane);
  const weight = new Float64Array(4 * plane);
  const inside = (v: number) => v >= 0 && v < resolution;
  for (let p = 0; p < plane; p++) {
    // align_corners=True: -1 and 1 are the centres of the first and last pixels
    const ix = ((grid[2 * p]! + 1) / 2) * (resolution - 1);
    const iy = ((grid[2 * p + 1]! + 1) / 2) * (resolution - 1);
    const x0 = Math.floor(ix);
    const y0 = Math.floor(iy);
    const wx = ix - x0;
    const wy = iy - y0;
    const corners: [number, number, number][] = [
      [x0, y0, (1 - wx) * (1 - wy)],
      [x0 + 1, y0, wx * (1 - wy)],
      [x0, y0 + 1, (1 - wx) * wy],
      [x0 + 1, y0 + 1, wx * wy],
    ];
    corners.forEach(([x, y, w], q) => {
      const ok = inside(x) && inside(y);
      index[4 * p + q] = ok ? y * resolution + x : -1;
      weight[4 * p + q] = ok ? w : 0;
    });
  }
  return { index, weight };
}

/**
 * torch `F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=True)` on image `n` of an
 * [N, 3, R, R] batch, in place.
 */
export function gridSampleBilinear(
  pixels01: Float32Array,
  n: number,
  resolution: number,
  grid: Float32Array,
): void {
  applyPlan(
    pixels01,
    n,
    resolution,
    samplingPlan(grid, resolution),
    new Float32Array(resolution * resolution),
  );
}

function applyPlan(
  pixels01: Float32Array,
  n: number,
  resolution: number,
  plan: SamplingPlan,
  scratch: Float32Array,
): void {
  const plane = resolution * resolution;
  for (let c = 0; c < 3; c++) {
    const base = (n * 3 + c) * plane;
    scratch.set(pixels01.subarray(base, base + plane));
    for (let p = 0; p < plane; p++) {
      let v = 0;
      for (let q = 4 * p; q < 4 * p + 4; q++) {
        const src = plan.index[q]!;
        if (src >= 0) v += plan.weight[q]! * scratch[src]!;
      }
      pixels01[base + p] = v;
    }
  }
}

/**
 * WaNet (Nguyen & Tran; METHODS 2.1): one fixed warp per run. r ~ U(-1,1)^{k x k x 2}, r /= mean |r|, upsampled
 * to R x R, grid = clamp(identity + s r / R, -1, 1), then bilinear sampling with align corners. Defaults k = R,
 * s = 1. [choice] The upsampling is bilinear with align_corners=True (the WaNet code uses bicubic; with the
 * default k = R the two agree, since resizing R to R is the identity). The grid is saved as tensor `grid`
 * [R, R, 2] and re-used as is when restored.
 */
export const wanetTrigger: TriggerFamily = {
  id: 'wanet',
  title: 'WaNet warp',
  summary:
    'An imperceptible fixed warping field (random grid, upsampled, strength 1/R) applied by bilinear sampling.',
  paper: 'Nguyen, Tran. WaNet - Imperceptible Warping-based Backdoor Attack. ICLR 2021.',
  params: PARAMS,
  needsModel: false,
  create({ params, seed, resolution, restore }): Trigger {
    const saved = restoredTensor('wanet', restore, 'grid', [resolution, resolution, 2], {
      min: -1,
      max: 1,
    });
    if (saved && !saved.data.every((v) => v >= -1 && v <= 1)) {
      throw new VetbenchError(
        'trigger-tensor-invalid',
        'wanet: the saved warp grid holds values outside [-1, 1] (or not numbers)',
        'The trigger file is damaged: create the trigger again.',
      );
    }
    const grid =
      saved?.data.slice() ??
      wanetGrid(seed, resolution, { gridSize: num(params, 'gridSize'), strength: num(params, 'strength') })
        .grid;
    const plan = samplingPlan(grid, resolution);
    return {
      method: 'wanet',
      params,
      seed,
      resolution,
      textKey: '',
      apply(pixels01: Float32Array, images: readonly TriggerImage[]): void {
        const count = checkBatch('wanet', pixels01, images, resolution);
        const scratch = new Float32Array(resolution * resolution);
        for (let n = 0; n < count; n++) applyPlan(pixels01, n, resolution, plan, scratch);
      },
      tensors(): Readonly<Record<string, HostTensor>> {
        return { grid: hostTensor(grid.slice(), [resolution, resolution, 2]) };
      },
    };
  },
};
