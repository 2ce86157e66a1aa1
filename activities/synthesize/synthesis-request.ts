// What the synthesize stage sends a synthesizer for one image and its caption: the contract's
// prompt, its chat form for chat APIs, the image, and how to decode. One home, so that
// `adamllm check-endpoint` and the tests against real servers send exactly the stage's request.
import { synthesisChat } from '../../core/chat/qwen2vl';
import { LLAMA3_SYSTEM, SYNTH_CONTRACTS, synthesisPrompt } from '../../core/synth/contract';
import type { Decoding, GenerateRequest, ImageInput } from '../inference/backend';

export type SynthesisFormat = keyof typeof SYNTH_CONTRACTS;

/**
 * The system sentence of each format's chat: the released synthesizer's is llava_llama_3's (it is
 * served with the project's template, core/chat/templates, and opens with two BOS: the
 * template's and the tokenizer's); a Qwen2-VL synthesizer has none.
 */
const SYSTEM: Record<SynthesisFormat, string | undefined> = { qwen2vl: undefined, 'llava-llama3': LLAMA3_SYSTEM };

/**
 * How a synthesizer decodes (docs/method.md §4.3, §5.1): greedy, stop only on the end-of-synthesis
 * token and never on the model's EOS ids (both families list their turn end there, so an engine
 * that adds them, as vLLM does, would stop after the first question), special tokens kept.
 */
export function synthesisDecoding(format: SynthesisFormat, maxNewTokens: number): Decoding {
  const contract = SYNTH_CONTRACTS[format];
  return {
    maxNewTokens,
    // the released model's id is fixed by its vocabulary; a Qwen2-VL synthesizer's comes from its own tokenizer
    ...(format === 'llava-llama3' ? { stopTokenIds: [contract.endId] } : { stopTokens: [contract.END] }),
    keepSpecialTokens: true,
    ignoreEos: true,
  };
}

/** The request for one image and its caption (a qwen2vl image already at the trainer's scale: synth-image.ts). */
export function synthesisRequest(format: SynthesisFormat, caption: string, image: ImageInput): GenerateRequest {
  const contract = SYNTH_CONTRACTS[format];
  return { prompt: synthesisPrompt(contract, caption), chat: synthesisChat(contract, caption, SYSTEM[format]), images: [image] };
}
