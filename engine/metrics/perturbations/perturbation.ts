/**
 * Perturbations of perturbation resistivity (METHODS 2.3) act like triggers: in place on [N, 3, R, R] float32
 * [0, 1] pixels at the model resolution, before normalisation. Random ones draw from a stream keyed by the
 * seed and the image key, so an image is perturbed the same way in every run.
 */
export interface Perturbation {
  readonly id: string;
  readonly title: string;
  apply(pixels01: Float32Array, keys: readonly string[], resolution: number): void | Promise<void>;
}
