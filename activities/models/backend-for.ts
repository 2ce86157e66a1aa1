// The backend a stage's `model` setting names. In-process models load once per worker.
import type { TModelRef } from '../../core/spec';
import type { GenerateBackend } from './backend';
import { onnxBackend } from './onnx-backend';
import { OpenAIBackend } from './openai-backend';

/**
 * `revision`: the weights an endpoint serves, when we know them (this run's trained model behind
 * vLLM), so its cached outputs are keyed by those weights, not only by URL and served name.
 */
export function backendFor(ref: TModelRef, o: { revision?: string } = {}): Promise<GenerateBackend> {
  if (ref.backend === 'onnx') return onnxBackend(ref.path);
  return Promise.resolve(new OpenAIBackend({ baseUrl: ref.baseUrl, model: ref.model, apiKeyEnv: ref.apiKeyEnv, concurrency: ref.concurrency, maxRetries: ref.maxRetries, revision: o.revision }));
}
