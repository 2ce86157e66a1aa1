// The openai backend: any OpenAI-compatible chat-completions endpoint with image inputs (vLLM,
// SGLang, llama.cpp server, Ollama, `adamllm serve`). Images travel as data URLs; requests run
// with bounded concurrency and retry with backoff on 429, 5xx and network errors. The API key
// is read from the environment at call time and goes nowhere but the Authorization header.
import pLimit from 'p-limit';
import type { ChatTurn } from '../../core/chat/qwen2vl';
import type { Decoding, GenerateBackend, GenerateRequest, GenerateResult } from './backend';

export interface OpenAIBackendOptions {
  baseUrl: string;
  model: string;
  /** name of the environment variable holding the API key (never its value) */
  apiKeyEnv?: string;
  concurrency?: number;
  maxRetries?: number;
  timeoutMs?: number;
  /** first backoff; doubles each retry */
  retryDelayMs?: number;
  /** the served weights' revision, when known: part of the cache identity (a retrained model served under the same name is another model) */
  revision?: string;
}

function sniffMime(b: Uint8Array): string {
  if (b[0] === 0x89 && b[1] === 0x50) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b[0] === 0x52 && b[1] === 0x49) return 'image/webp';
  return 'application/octet-stream';
}

function toOpenAIMessages(turns: ChatTurn[], images: Uint8Array[]) {
  return turns.map((t) => ({
    role: t.role,
    content:
      typeof t.content === 'string'
        ? t.content
        : t.content.map((p) =>
            p.type === 'text'
              ? { type: 'text', text: p.text }
              : { type: 'image_url', image_url: { url: `data:${sniffMime(images[p.index])};base64,${Buffer.from(images[p.index]).toString('base64')}` } },
          ),
  }));
}

export class OpenAIBackend implements GenerateBackend {
  readonly identity: string;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(private readonly o: OpenAIBackendOptions) {
    this.identity = `openai:${o.baseUrl.replace(/\/+$/, '')}#${o.model}${o.revision ? `@${o.revision}` : ''}`;
    this.limit = pLimit(o.concurrency ?? 4);
  }

  generate(batch: GenerateRequest[], d: Decoding): Promise<GenerateResult[]> {
    return Promise.all(batch.map((r) => this.limit(() => this.one(r, d))));
  }

  /** Chat requests go to /chat/completions; a raw text prompt (the judge's base LM) to /completions. */
  private async one(r: GenerateRequest, d: Decoding): Promise<GenerateResult> {
    if (!r.chat && r.images?.length) throw new Error('the openai backend needs image requests as chat messages (GenerateRequest.chat)');
    const common = {
      model: this.o.model,
      max_tokens: d.maxNewTokens,
      temperature: 0,
      skip_special_tokens: !d.keepSpecialTokens,
      ...(d.ignoreEos ? { ignore_eos: true } : {}),
      ...(d.stopTokenIds?.length ? { stop_token_ids: d.stopTokenIds } : {}),
      ...(d.stopTokens?.length ? { stop: d.stopTokens } : {}),
    };
    const started = performance.now();
    const json = r.chat
      ? await this.post('chat/completions', {
          ...common,
          messages: toOpenAIMessages(r.chat.messages, r.images ?? []),
          add_generation_prompt: r.chat.addGenerationPrompt,
          continue_final_message: r.chat.continueFinalMessage,
        })
      : await this.post('completions', { ...common, prompt: r.prompt });
    const choice = json.choices?.[0];
    const text = r.chat ? choice?.message?.content : choice?.text;
    if (typeof text !== 'string') throw new Error(`${this.identity}: response has no generated text`);
    return {
      text,
      finishReason: choice?.finish_reason === 'length' ? 'length' : 'stop',
      outputIds: [],
      promptTokens: json.usage?.prompt_tokens ?? 0,
      completionTokens: json.usage?.completion_tokens ?? 0,
      ms: performance.now() - started,
    };
  }

  private async post(
    route: string,
    body: unknown,
  ): Promise<{ choices?: { message?: { content?: unknown }; text?: unknown; finish_reason?: string }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } }> {
    const url = `${this.o.baseUrl.replace(/\/+$/, '')}/${route}`;
    const key = this.o.apiKeyEnv ? process.env[this.o.apiKeyEnv] : undefined;
    const retries = this.o.maxRetries ?? 5;
    let delay = this.o.retryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      let retryable: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 300_000),
        });
        if (res.ok) return (await res.json()) as never;
        const text = (await res.text()).slice(0, 300);
        if (res.status !== 429 && res.status < 500) throw new Error(`${this.identity}: HTTP ${res.status}: ${text}`);
        retryable = `HTTP ${res.status}`;
      } catch (e) {
        if ((e as Error).message.startsWith(`${this.identity}: HTTP`)) throw e;
        retryable = (e as Error).name === 'TimeoutError' ? 'timeout' : `network error: ${(e as Error).message}`;
      }
      if (attempt >= retries) throw new Error(`${this.identity}: gave up after ${attempt + 1} tries (${retryable})`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }

  async dispose(): Promise<void> {
    // nothing held open: fetch keeps no connection state of ours
  }
}
