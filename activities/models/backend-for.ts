// The backend a stage's `model` setting names. In-process models load once per worker.
import type { TModelRef } from '../../core/spec';
import type { GenerateBackend } from './backend';
import { onnxBackend } from './onnx-backend';
import { OpenAIBackend } from './openai-backend';

export function backendFor(ref: TModelRef): Promise<GenerateBackend> {
  if (ref.backend === 'onnx') return onnxBackend(ref.path);
  return Promise.resolve(new OpenAIBackend({ baseUrl: ref.baseUrl, model: ref.model, apiKeyEnv: ref.apiKeyEnv, concurrency: ref.concurrency, maxRetries: ref.maxRetries }));
}
