/** A dense float32 array in host memory with a row-major shape: the currency between loaders and executors. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** An integer array in host memory (token ids, labels). */
export interface HostIntTensor {
  readonly shape: readonly number[];
  readonly data: Int32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function hostTensor(data: Float32Array, shape: readonly number[]): HostTensor {
  if (data.length !== numel(shape)) {
    throw new Error(`hostTensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { data, shape: [...shape] };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Rows `indices` of an [N, ...] tensor, copied into a new [indices.length, ...] tensor. */
export function gatherRows(t: HostTensor, indices: readonly number[]): HostTensor {
  const row = t.data.length / (t.shape[0] as number);
  const data = new Float32Array(indices.length * row);
  indices.forEach((i, k) => data.set(t.data.subarray(i * row, (i + 1) * row), k * row));
  return { data, shape: [indices.length, ...t.shape.slice(1)] };
}
