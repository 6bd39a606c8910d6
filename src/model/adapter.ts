/** Vision–language adapter (spec §6): Y = W_out · GELU(W_in · X + b_in) + b_out, exact erf GELU. */
import type { Backend, Tensor, Weight } from '../backend/types.js';

export interface AdapterWeights {
  readonly wIn: Weight;
  readonly bIn?: Weight;
  readonly wOut: Weight;
  readonly bOut?: Weight;
}

export function loadAdapterWeights(load: (name: string) => Weight, hasBias: boolean): AdapterWeights {
  const p = 'vision_language_adapter';
  return {
    wIn: load(`${p}.w_in.weight`),
    wOut: load(`${p}.w_out.weight`),
    ...(hasBias ? { bIn: load(`${p}.w_in.bias`), bOut: load(`${p}.w_out.bias`) } : {}),
  };
}

export function adapt(backend: Backend, features: Tensor, w: AdapterWeights): Tensor {
  return backend.matmul(backend.gelu(backend.matmul(features, w.wIn, w.bIn)), w.wOut, w.bOut);
}
