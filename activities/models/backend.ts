// One inference interface for the model stages (synthesize, judge, evaluate). Requests carry
// a raw prompt rendered by our own contract code (core/synth, core/judge, evaluation wrappers),
// so every backend sees the exact string the method prescribes.
import type { ChatPrompt } from '../../core/chat/qwen2vl';

export interface Decoding {
  maxNewTokens: number;
  /** stop only on these token ids (the synthesizer stops on end-of-text, never on the turn end); default: the model's EOS ids */
  stopTokenIds?: number[];
  /** the same as token texts (e.g. "<|endoftext|>"), resolved with the model's own tokenizer */
  stopTokens?: string[];
  /** keep special tokens in the text (the synthesizer's output grammar is made of them) */
  keepSpecialTokens?: boolean;
  /** do not stop on the model's own EOS ids, only on the stops above (vLLM `ignore_eos`): the
   * released synthesizer's generation config lists the turn end, which must not stop it */
  ignoreEos?: boolean;
}

export interface GenerateRequest {
  prompt: string;
  /** the same prompt as chat messages, for chat APIs (openai backend); renders to `prompt` */
  chat?: ChatPrompt;
  /** encoded images (PNG/JPEG bytes), one per image slot in the prompt */
  images?: Uint8Array[];
}

export interface GenerateResult {
  /** generated text, without the final stop token */
  text: string;
  finishReason: 'stop' | 'length';
  outputIds: number[];
  promptTokens: number;
  completionTokens: number;
  ms: number;
}

export interface GenerateBackend {
  /** what the output cache keys on: a content hash of the model folder, or endpoint + model name */
  readonly identity: string;
  /**
   * `onText`, where a backend supports it (onnx), receives the text of a one-request batch as it
   * is generated, in pieces that concatenate to a prefix of the final text (`adamllm serve`
   * streams them); the result is the same with or without it.
   */
  generate(batch: GenerateRequest[], d: Decoding, onText?: (delta: string) => void): Promise<GenerateResult[]>;
  dispose(): Promise<void>;
}

/** Cuts generated ids at the first stop id; the stop token is not part of the text. */
export function cutAtStop(ids: number[], stop: ReadonlySet<number>, maxNewTokens: number): { ids: number[]; finishReason: 'stop' | 'length' } {
  const at = ids.findIndex((id) => stop.has(id));
  if (at >= 0) return { ids: ids.slice(0, at), finishReason: 'stop' };
  return { ids: ids.slice(0, maxNewTokens), finishReason: 'length' };
}
