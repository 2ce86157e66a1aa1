// One inference interface for the model stages (synthesize, judge, evaluate). Requests carry
// a raw prompt rendered by our own contract code (core/synth, core/judge, evaluation wrappers),
// so every backend sees the exact string the method prescribes.
import type { ChatPrompt } from '../../core/chat/qwen2vl';

export interface Decoding {
  maxNewTokens: number;
  /**
   * Stop ids added to the model's own EOS ids: the stop set is the model's EOS ids (its
   * tokenizer's and its generation config's) plus these, as vLLM builds it, unless `ignoreEos`.
   */
  stopTokenIds?: number[];
  /** the same as token texts (e.g. "<|endoftext|>"), resolved with the model's own tokenizer */
  stopTokens?: string[];
  /** keep special tokens in the text (the synthesizer's output grammar is made of them) */
  keepSpecialTokens?: boolean;
  /**
   * Leave the model's EOS ids out of the stop set, so only the stops above end generation (vLLM
   * `ignore_eos`). The synthesizers need it: their EOS ids include the turn end they write
   * between questions (Qwen2-VL's `<|im_end|>`, Llama-3's `<|eot_id|>`).
   */
  ignoreEos?: boolean;
  /** a repetition penalty (HF's): the stages never set one (docs/method.md: greedy, no penalty); `adamllm serve` passes on what a request or its folder asks */
  repetitionPenalty?: number;
}

/** The ids that end generation: the model's EOS ids unless `ignoreEos`, plus the request's stops. */
export function stopSet(d: Decoding, modelEos: readonly number[], tokenId: (text: string) => number): Set<number> {
  return new Set([...(d.ignoreEos ? [] : modelEos), ...(d.stopTokenIds ?? []), ...(d.stopTokens ?? []).map(tokenId)]);
}

/**
 * An image read only when its request is sent, so a shard of thousands of queued requests holds
 * no pixels: memory is bounded by the requests in flight, not the requests queued.
 */
export interface ImageRef {
  /** identifies the bytes `load` gives (the cache key uses it without loading them) */
  sha256: string;
  load(): Promise<Uint8Array>;
  /** a local file holding exactly those bytes, for servers that read local media (file:// URLs) */
  file?(): Promise<string>;
}

export type ImageInput = Uint8Array | ImageRef;

export const imageBytes = (i: ImageInput): Promise<Uint8Array> => (i instanceof Uint8Array ? Promise.resolve(i) : i.load());

export interface GenerateRequest {
  prompt: string;
  /** the same prompt as chat messages, for chat APIs (openai backend); renders to `prompt` */
  chat?: ChatPrompt;
  /** encoded images (PNG/JPEG/WebP bytes, or loaded on demand), one per image slot in the prompt */
  images?: ImageInput[];
}

/**
 * The server refused this one request (an HTTP 4xx other than 429, or the same 500 on every
 * try): its input is at fault, not the server, so asking again cannot help. The item fails with
 * this reason; its shard goes on.
 */
export class RequestRejected extends Error {
  constructor(
    /**
     * The first words of the item's failure reason: "context overflow", "rejected", or "server
     * error" (the same HTTP 500 on every try: the server fails on this input, as llama.cpp's does
     * on some images, and asking again cannot help)
     */
    readonly kind: 'context overflow' | 'rejected' | 'server error',
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`${kind}: HTTP ${status}: ${serverMessage}`);
    this.name = 'RequestRejected';
  }

  /** The item's failure reason, e.g. "context overflow: HTTP 400: This model's maximum context length is 4096 tokens…". */
  get reason(): string {
    return this.message;
  }
}

/** An image that cannot be sent (unreadable file, undecodable bytes): its item fails with `reason`; the shard goes on. */
export class ImageUnusable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ImageUnusable';
  }
}

/** A per-item fault: the item is decided as failed with this reason instead of failing its shard. */
export function itemFault(e: unknown): string | null {
  return e instanceof RequestRejected || e instanceof ImageUnusable ? e.reason : null;
}

export interface GenerateOptions {
  /**
   * Receives the text of a one-request batch as it is generated, where a backend supports it
   * (onnx), in pieces that concatenate to a prefix of the final text (`adamllm serve` streams
   * them); the result is the same with or without it.
   */
  onText?: (delta: string) => void;
  /** abandons requests not answered yet (activity cancellation) */
  signal?: AbortSignal;
  /** abandons only requests still waiting for a slot (a shard giving up lets what is in flight finish) */
  queueSignal?: AbortSignal;
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
  /**
   * What the output cache and stored predictions key on: a content hash of the model folder, or
   * for an endpoint its URL, model name and what the server reports about the weights it serves.
   */
  readonly identity: string;
  /**
   * How callers should feed it. `batch`: in-process compute; send `batchSize` requests per call,
   * one call at a time. `concurrent`: a remote server that batches on its own; send every request
   * as its own call, all at once: the backend's limiter bounds what is in flight.
   */
  readonly mode: 'batch' | 'concurrent';
  /** A request the server refuses rejects with RequestRejected; anything else that rejects is the backend's fault. */
  generate(batch: GenerateRequest[], d: Decoding, o?: GenerateOptions): Promise<GenerateResult[]>;
  /** the model's ids for a text, no special tokens added (in-process models: `adamllm serve` answers /tokenize with it) */
  tokenize?(text: string): Promise<number[]>;
  /**
   * Set (to why) when the identity says nothing about the weights behind it: a server whose card
   * reports neither root, max_model_len nor a revision, and no revision in the spec. Another
   * checkpoint served under the same name would look the same, so the output cache refuses it.
   */
  readonly unidentified?: string;
  dispose(): Promise<void>;
}

/** Cuts generated ids at the first stop id; the stop token is not part of the text. */
export function cutAtStop(ids: number[], stop: ReadonlySet<number>, maxNewTokens: number): { ids: number[]; finishReason: 'stop' | 'length' } {
  const at = ids.findIndex((id) => stop.has(id));
  if (at >= 0) return { ids: ids.slice(0, at), finishReason: 'stop' };
  return { ids: ids.slice(0, maxNewTokens), finishReason: 'length' };
}
