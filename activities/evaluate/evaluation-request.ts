// What the evaluate stage sends a model for one benchmark row: the family's prompt (core/eval/
// prompts.ts), its chat form, the image as prepared for the family (eval-image.ts), decoded
// greedy with the setup's token budget and the model's own stop set. One home, so that
// `adamllm check-endpoint` and the tests against real servers send exactly the stage's request.
import type { EvalPrompt } from '../../core/eval/prompts';
import type { Decoding, GenerateRequest, ImageInput } from '../inference/backend';

export function evaluationRequest(prompt: EvalPrompt, image: ImageInput): GenerateRequest {
  return { prompt: prompt.prompt, chat: prompt.chat, images: [image] };
}

/** Greedy (the backends' default, stated field by field on the wire), ending at the model's EOS or the budget. */
export function evaluationDecoding(maxNewTokens: number): Decoding {
  return { maxNewTokens };
}
