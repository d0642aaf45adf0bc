import { packageVersion, vetbenchVersion } from '../paths.js';

/** Versions an audit report cites: Vetbench, Node and the packages that compute or render results. */
export function softwareVersions(): Record<string, string> {
  const out: Record<string, string> = { vetbench: vetbenchVersion(), node: process.version };
  for (const name of ['onnxruntime-node', '@tensorflow/tfjs', 'umap-js', 'playwright-core', 'sharp']) {
    const v = packageVersion(name);
    if (v) out[name] = v;
  }
  return out;
}
