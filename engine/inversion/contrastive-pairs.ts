import type { HostTensor } from '../tensor/host-tensor.js';

/** Rows of `x` [N, E] scaled to unit length (a copy). */
export function unitRows(x: HostTensor): Float32Array {
  const [n, e] = x.shape as [number, number];
  const out = Float32Array.from(x.data);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < e; j++) s += (out[i * e + j] as number) ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let j = 0; j < e; j++) out[i * e + j] = (out[i * e + j] as number) * inv;
  }
  return out;
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, e: number): number {
  let s = 0;
  for (let k = 0; k < e; k++) s += (a[i * e + k] as number) * (b[j * e + k] as number);
  return s;
}

/** The class whose text is closest (cosine) to each image: the zero-shot prediction. */
export function nearestClasses(image: HostTensor, classText: HostTensor): number[] {
  return pseudoTargets(
    image,
    classText,
    Array.from({ length: image.shape[0] as number }, () => -1),
  );
}

/**
 * CBPT's pseudo-target: y' = argmax over k != y of cos(E_I(v), t_k), the class the image is closest to after its
 * own (the likeliest destination of a shortcut). `image` [N,E], `classText` [C,E].
 */
export function pseudoTargets(image: HostTensor, classText: HostTensor, labels: readonly number[]): number[] {
  const e = image.shape[1] as number;
  const c = classText.shape[0] as number;
  const img = unitRows(image);
  const txt = unitRows(classText);
  // A label of -1 excludes nothing (see nearestClasses).
  return labels.map((y, i) => {
    let best = -1;
    let bestCos = -Infinity;
    for (let k = 0; k < c; k++) {
      if (k === y) continue;
      const cos = dot(img, i, txt, k, e);
      if (cos > bestCos) {
        bestCos = cos;
        best = k;
      }
    }
    return best;
  });
}

/**
 * For each query image, the image of its wanted class in the pool that is farthest from it in embedding
 * space (lowest cosine): the positive of L_CL. Returns pool indices; -1 where the pool has no such image.
 */
export function farthestPositives(
  query: HostTensor,
  wanted: readonly number[],
  pool: HostTensor,
  poolLabels: readonly number[],
): number[] {
  const e = query.shape[1] as number;
  const q = unitRows(query);
  const p = unitRows(pool);
  return wanted.map((cls, i) => {
    let best = -1;
    let lowest = Infinity;
    poolLabels.forEach((label, j) => {
      if (label !== cls) return;
      const cos = dot(q, i, p, j, e);
      if (cos < lowest) {
        lowest = cos;
        best = j;
      }
    });
    return best;
  });
}
