// The backend a stage's `model` setting names. In-process models load once per worker; an
// endpoint is asked what it serves each time (a cheap GET), so a model swapped behind the same
// URL and name gets another identity and none of the old model's outputs are reused.
import type { TModelRef } from '../../core/spec';
import type { ModelAccess } from '../deps';
import type { GenerateBackend } from './backend';
import { onnxBackend } from './onnx-backend';
import { OpenAIBackend } from './openai-backend';

/**
 * `access`: the worker's ONNX device and secrets (the stage context carries them). `revision`: the
 * weights an endpoint serves, when the run knows them (this run's trained model behind vLLM);
 * otherwise the spec's own `revision`, if it gives one.
 */
export function backendFor(ref: TModelRef, access: ModelAccess, o: { revision?: string } = {}): Promise<GenerateBackend> {
  if (ref.backend === 'onnx') return onnxBackend(ref.path, access.onnxDevice);
  return OpenAIBackend.connect({
    baseUrl: ref.baseUrl,
    model: ref.model,
    apiKey: apiKeyOf(ref.apiKeyEnv, access),
    concurrency: ref.concurrency,
    maxRetries: ref.maxRetries,
    timeoutMs: ref.timeoutSeconds * 1000,
    localMedia: ref.localMedia,
    revision: o.revision ?? ref.revision,
  });
}

/** The key an endpoint's spec names by its variable (`apiKeyEnv`), from the worker's environment. */
export function apiKeyOf(apiKeyEnv: string | undefined, access: ModelAccess): string | undefined {
  return apiKeyEnv ? access.secret?.(apiKeyEnv) : undefined;
}
