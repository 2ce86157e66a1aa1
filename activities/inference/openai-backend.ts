// The openai backend: an OpenAI-compatible endpoint with image inputs (vLLM, `adamllm serve`; a
// server whose card is not vLLM's, such as llama.cpp's, serves the judge only: notVllm). The
// server batches on its own, so callers send every request at once and this process's limiter
// for the endpoint bounds what is in flight. A request the server refuses (4xx), or fails with
// the same 500 every time, is that item's failure; 429, other 5xx, timeouts and network errors
// are retried with backoff; the API key is read from the environment at call time and goes
// nowhere but the Authorization header.
//
// Every request states what the method needs instead of leaving it to the server: vLLM fills
// each unset sampling field from the served folder's generation_config.json (Qwen2-VL
// checkpoints carry repetition_penalty 1.05) and adds the model's EOS ids to the stop set unless
// ignore_eos, so greedy decoding, neutral penalties, the stop ids and the special-token handling
// are all sent explicitly.
import { ErrorTypes } from '../../core/errors';
import type { ChatTurn } from '../../core/chat/qwen2vl';
import { failure } from '../errors';
import { imageBytes, RequestRejected, type Decoding, type GenerateBackend, type GenerateOptions, type GenerateRequest, type GenerateResult, type ImageInput } from './backend';
import { endpointLimiter, type Limiter } from './endpoint-limiter';

/** What the server says about the weights behind the name (vLLM's /v1/models card). */
export interface ServedModel {
  /** who the card says serves it (vLLM writes "vllm", `adamllm serve` "adamllm", llama.cpp's server "me") */
  ownedBy?: string;
  /** vLLM: the path or hub id the server was started with */
  root?: string;
  /** vLLM: the context length */
  maxModelLen?: number;
  /** a content hash of the served weights, where the server reports one (`adamllm serve` does) */
  serverRevision?: string;
}

export interface OpenAIBackendOptions {
  baseUrl: string;
  model: string;
  /** the API key, sent only as `Authorization: Bearer` (backendFor reads it by the spec's apiKeyEnv through ModelAccess.secret) */
  apiKey?: string;
  /** requests in flight to this endpoint from this process (shared by every caller in it); unset: by the server's kind (defaultConcurrency) */
  concurrency?: number;
  /** tries after the first for 429, 5xx, timeouts and network errors */
  maxRetries?: number;
  timeoutMs?: number;
  /** first backoff; doubles each retry (with jitter), or what the server's Retry-After says */
  retryDelayMs?: number;
  /** the served weights' revision as the spec or the run knows it: part of the identity */
  revision?: string;
  /** what the server reported at connect time: part of the identity */
  served?: ServedModel;
  /** send images as file:// URLs where the caller has the file (the server reads local media) */
  localMedia?: boolean;
}

const MAX_BACKOFF_MS = 60_000;

/** vLLM's own default batch is 256 sequences; 64 per worker process leaves room for several. */
export const VLLM_CONCURRENCY = 64;

/**
 * Requests in flight when the spec leaves it unset: VLLM_CONCURRENCY for a server whose card is
 * vLLM's (root and max_model_len: vLLM, `adamllm serve`), else 1: llama.cpp's server answers one
 * request at a time, so the rest would wait in its queue with their timeout running.
 */
export function defaultConcurrency(served: ServedModel | undefined): number {
  return served?.root !== undefined && served.maxModelLen !== undefined ? VLLM_CONCURRENCY : 1;
}

/**
 * Plain greedy decoding with no penalty, stated field by field: vLLM takes every field a request
 * leaves unset from the served generation_config.json (vllm/config/model.py,
 * get_diff_sampling_param), so leaving them out would decode with the checkpoint's own settings.
 * top_k 0 is "all tokens" in vLLM (vllm/sampling_params.py) and llama.cpp alike; -1, vLLM's other
 * spelling, is a 500 in llama-cpp-python. repeat_penalty is llama.cpp's name for the repetition
 * penalty (it applies 1.1 unless told; vLLM ignores the unknown field).
 */
export const GREEDY = { temperature: 0, top_p: 1, top_k: 0, min_p: 0, repetition_penalty: 1, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0 } as const;

function sniffMime(b: Uint8Array): string {
  if (b[0] === 0x89 && b[1] === 0x50) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b[0] === 0x52 && b[1] === 0x49) return 'image/webp';
  return 'application/octet-stream';
}

/** vLLM's and OpenAI's wordings for a prompt (plus max_tokens) longer than the model's context. */
const CONTEXT_OVERFLOW = /maximum context length|maximum model length|max_model_len|context length|too long and exceeds|longer than the maximum/i;

/** Statuses that say the endpoint or its configuration is wrong, not this one request: they fail the shard. */
const ENDPOINT_FAULTS = new Set([401, 403, 404]);

export const trimUrl = (u: string) => u.replace(/\/+$/, '');

/**
 * The cache and prediction identity of a served model: URL, name, what the server reports about
 * the weights, and the spec's revision. A retrained checkpoint served under the same name changes
 * the server's report (its revision where it has one, else max_model_len or root when they move)
 * or the spec's `revision`, and so is another model.
 */
export function endpointIdentity(baseUrl: string, model: string, served: ServedModel = {}, revision?: string): string {
  const q = new URLSearchParams();
  if (served.root !== undefined) q.set('root', served.root);
  if (served.maxModelLen !== undefined) q.set('max_model_len', String(served.maxModelLen));
  if (served.serverRevision !== undefined) q.set('server_revision', served.serverRevision);
  if (revision !== undefined) q.set('revision', revision);
  const tail = q.toString();
  return `openai:${trimUrl(baseUrl)}#${model}${tail ? `?${tail}` : ''}`;
}

async function imageUrl(i: ImageInput, localMedia: boolean): Promise<string> {
  if (localMedia && !(i instanceof Uint8Array) && i.file) return `file://${await i.file()}`;
  const b = await imageBytes(i);
  return `data:${sniffMime(b)};base64,${Buffer.from(b).toString('base64')}`;
}

async function toOpenAIMessages(turns: ChatTurn[], images: ImageInput[], localMedia: boolean) {
  return Promise.all(
    turns.map(async (t) => ({
      role: t.role,
      content:
        typeof t.content === 'string'
          ? t.content
          : await Promise.all(t.content.map(async (p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: { url: await imageUrl(images[p.index], localMedia) } }))),
    })),
  );
}

type Completion = { choices?: { message?: { content?: unknown }; text?: unknown; finish_reason?: string }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } };

export class OpenAIBackend implements GenerateBackend {
  readonly identity: string;
  readonly mode = 'concurrent';
  private readonly url: string;
  private shared?: Limiter;

  private readonly stopIds = new Map<string, Promise<number | undefined>>();

  constructor(private readonly o: OpenAIBackendOptions) {
    this.url = trimUrl(o.baseUrl);
    this.identity = endpointIdentity(o.baseUrl, o.model, o.served, o.revision);
  }

  /** The endpoint's limiter, bounded as this backend says; made on first use, so a connect probe leaves the bound alone. */
  get limiter(): Limiter {
    this.shared ??= endpointLimiter(this.url, this.o.model, this.o.concurrency ?? defaultConcurrency(this.o.served));
    return this.shared;
  }

  /**
   * Asks the server what it serves (GET /models) and builds the identity from its answer. A server
   * that does not serve the name is a configuration fault (InvalidInput: the stage waits for the
   * operator); one without a /models route is identified by URL, name and `revision` only.
   */
  static async connect(o: OpenAIBackendOptions): Promise<OpenAIBackend> {
    const probe = new OpenAIBackend(o);
    return new OpenAIBackend({ ...o, served: await probe.servedModel() });
  }

  private async servedModel(): Promise<ServedModel> {
    const res = await this.send('GET', 'models');
    if (res === 'no-route') return {};
    const cards = ((res as { data?: unknown }).data ?? []) as { id?: unknown; owned_by?: unknown; root?: unknown; max_model_len?: unknown; revision?: unknown }[];
    const card = Array.isArray(cards) ? cards.find((c) => c.id === this.o.model) : undefined;
    if (!card) {
      const names = Array.isArray(cards) ? cards.map((c) => String(c.id)).join(', ') : '';
      throw failure(ErrorTypes.InvalidInput, `${this.url} does not serve model "${this.o.model}" (it serves: ${names || 'nothing'}); fix the spec's model name or the server`);
    }
    return {
      ...(typeof card.owned_by === 'string' ? { ownedBy: card.owned_by } : {}),
      ...(typeof card.root === 'string' ? { root: card.root } : {}),
      ...(typeof card.max_model_len === 'number' ? { maxModelLen: card.max_model_len } : {}),
      ...(typeof card.revision === 'string' ? { serverRevision: card.revision } : {}),
    };
  }

  /** Every request is its own call through the endpoint's limiter; results come back in request order. */
  generate(batch: GenerateRequest[], d: Decoding, o: GenerateOptions = {}): Promise<GenerateResult[]> {
    const waitSignal = o.signal && o.queueSignal ? AbortSignal.any([o.signal, o.queueSignal]) : (o.signal ?? o.queueSignal);
    return Promise.all(batch.map((r) => this.limiter.run(() => this.one(r, d, o.signal), waitSignal)));
  }

  /** Chat requests go to /chat/completions; a raw text prompt (the judge's base LM) to /completions. */
  private async one(r: GenerateRequest, d: Decoding, signal?: AbortSignal): Promise<GenerateResult> {
    const { route, body } = await this.requestOf(r, d);
    const started = performance.now();
    const json = (await this.send('POST', route, body, signal)) as Completion;
    const choice = json.choices?.[0];
    const text = r.chat ? choice?.message?.content : choice?.text;
    if (typeof text !== 'string') throw new Error(`${this.identity}: response has no generated text`);
    const written = json.usage?.completion_tokens;
    if (choice?.finish_reason === 'length' && written !== undefined && written < d.maxNewTokens) {
      // vLLM refuses such a request (400); llama.cpp's server shortens max_tokens to what fits and says nothing
      throw new RequestRejected('context overflow', 200, `the answer ended for length after ${written} of the ${d.maxNewTokens} tokens asked: the prompt filled the server's context, and the server shortened max_tokens instead of refusing`);
    }
    return {
      text,
      finishReason: choice?.finish_reason === 'length' ? 'length' : 'stop',
      outputIds: [],
      promptTokens: json.usage?.prompt_tokens ?? 0,
      completionTokens: json.usage?.completion_tokens ?? 0,
      ms: performance.now() - started,
    };
  }

  /** The route and body of one request, as generate() sends it. Images are loaded here, inside the limiter's slot: memory holds only what is in flight. */
  private async requestOf(r: GenerateRequest, d: Decoding): Promise<{ route: string; body: Record<string, unknown> }> {
    if (!r.chat && r.images?.length) throw new Error('the openai backend needs image requests as chat messages (GenerateRequest.chat)');
    const stops = await this.stopsOf(d);
    const common = {
      model: this.o.model,
      max_tokens: d.maxNewTokens,
      ...GREEDY,
      skip_special_tokens: !d.keepSpecialTokens,
      // the method decodes as the HF fast tokenizers do: no spaces put around special tokens
      spaces_between_special_tokens: false,
      ...(d.ignoreEos ? { ignore_eos: true } : {}),
      ...(stops.ids.length ? { stop_token_ids: stops.ids } : {}),
      ...(stops.texts.length ? { stop: stops.texts } : {}),
    };
    if (!r.chat) return { route: 'completions', body: { ...common, prompt: r.prompt } };
    return {
      route: 'chat/completions',
      body: {
        ...common,
        messages: await toOpenAIMessages(r.chat.messages, r.images ?? [], this.o.localMedia ?? false),
        add_generation_prompt: r.chat.addGenerationPrompt,
        continue_final_message: r.chat.continueFinalMessage,
        ...(r.chat.addSpecialTokens !== undefined ? { add_special_tokens: r.chat.addSpecialTokens } : {}),
      },
    };
  }

  /**
   * One request exactly as generate() sends it, plus vLLM's `return_token_ids`: the prompt ids
   * the server built from it and the ids it generated (absent where the server does not return
   * them). For checking an endpoint before a run (endpoint-check.ts).
   */
  async inspect(r: GenerateRequest, d: Decoding): Promise<{ body: Record<string, unknown>; promptIds?: number[]; outputIds?: number[]; text?: string; finishReason?: string }> {
    const { route, body } = await this.requestOf(r, d);
    const json = (await this.send('POST', route, { ...body, return_token_ids: true })) as Completion & { prompt_token_ids?: unknown; choices?: { token_ids?: unknown }[] };
    const choice = json.choices?.[0];
    const ids = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined);
    const text = r.chat ? choice?.message?.content : choice?.text;
    return { body, promptIds: ids(json.prompt_token_ids), outputIds: ids(choice?.token_ids), ...(typeof text === 'string' ? { text } : {}), ...(choice?.finish_reason ? { finishReason: choice.finish_reason } : {}) };
  }

  /** The served model's ids for `text` (vLLM's POST /tokenize), or undefined where the server has no such route. */
  async serverTokens(text: string, addSpecialTokens: boolean): Promise<number[] | undefined> {
    let res: unknown;
    try {
      res = await this.send('POST', '../tokenize', { model: this.o.model, prompt: text, add_special_tokens: addSpecialTokens });
    } catch (e) {
      if (e instanceof RequestRejected) return undefined; // a /tokenize of another shape (llama.cpp's takes `content`)
      throw e;
    }
    const tokens = (res as { tokens?: unknown }).tokens;
    return res !== 'no-route' && Array.isArray(tokens) && tokens.every((t) => typeof t === 'number') ? (tokens as number[]) : undefined;
  }

  /** The text of `ids` (vLLM's POST /detokenize), or undefined where the server has no such route. */
  async detokenize(ids: number[]): Promise<string | undefined> {
    try {
      const res = await this.send('POST', '../detokenize', { model: this.o.model, tokens: ids });
      const prompt = (res as { prompt?: unknown }).prompt;
      return typeof prompt === 'string' ? prompt : undefined;
    } catch (e) {
      if (e instanceof RequestRejected) return undefined;
      throw e;
    }
  }

  /** What the server's card said at connect time. */
  get served(): ServedModel {
    return this.o.served ?? {};
  }

  /**
   * Why this server is not vLLM (undefined when its card carries vLLM's root and max_model_len,
   * as vLLM's and `adamllm serve`'s do): other OpenAI-compatible servers (llama.cpp's, Ollama)
   * accept vLLM's request extensions (ignore_eos, stop_token_ids, continue_final_message,
   * add_generation_prompt: false, add_special_tokens) and ignore them without an error.
   */
  get notVllm(): string | undefined {
    const s = this.served;
    if (s.root !== undefined && s.maxModelLen !== undefined) return undefined;
    return `${this.url} is not vLLM: its /models card for "${this.o.model}" has no root or max_model_len (owned_by ${JSON.stringify(s.ownedBy ?? null)})`;
  }

  get unidentified(): string | undefined {
    const s = this.served;
    if (s.root !== undefined || s.maxModelLen !== undefined || s.serverRevision !== undefined || this.o.revision !== undefined) return undefined;
    return `the server's /models card says nothing about the weights served as "${this.o.model}" (no root, max_model_len or revision)`;
  }

  /**
   * The decoding's stops as the server takes them: token texts become ids through the server's
   * own tokenizer (vLLM's /tokenize), once per text, so a stop is exact whatever the vocabulary;
   * a server without /tokenize gets them as stop strings (they match only in text that keeps
   * special tokens).
   */
  private async stopsOf(d: Decoding): Promise<{ ids: number[]; texts: string[] }> {
    const ids = [...(d.stopTokenIds ?? [])];
    const texts: string[] = [];
    for (const t of d.stopTokens ?? []) {
      if (!this.stopIds.has(t)) this.stopIds.set(t, this.tokenIdOf(t));
      this.stopIds.get(t)!.catch(() => this.stopIds.delete(t)); // a failed look-up is asked again next time
      const id = await this.stopIds.get(t)!;
      if (id === undefined) texts.push(t);
      else ids.push(id);
    }
    return { ids, texts };
  }

  private async tokenIdOf(text: string): Promise<number | undefined> {
    const tokens = await this.serverTokens(text, false);
    if (tokens === undefined) return undefined;
    if (tokens.length !== 1) {
      throw failure(ErrorTypes.InvalidInput, `${this.identity}: stop token ${JSON.stringify(text)} is not one token of the served model (its tokenizer gives ${JSON.stringify(tokens)}): this is not the model family the prompt format expects`);
    }
    return tokens[0];
  }

  /**
   * One call with retries. Returns the parsed JSON body, or 'no-route' for a GET the server does
   * not know (404/405). Throws RequestRejected for a 4xx that is this request's fault, a
   * non-retryable failure for an endpoint fault (401/403/404), and a plain error when the retries
   * are spent (the shard fails and is retried as a whole; what was answered is kept).
   */
  private async send(method: 'GET' | 'POST', route: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const key = this.o.apiKey;
    const retries = this.o.maxRetries ?? 5;
    const timeoutMs = this.o.timeoutMs ?? 600_000;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let backoff = this.o.retryDelayMs ?? 500;
    // a 500 with the same message on every try is the input's fault, not the server's state
    const errors500 = new Set<string>();
    let only500 = true;
    const url = new URL(route, `${this.url}/`).toString();
    for (let attempt = 0; ; attempt++) {
      let retryable: string;
      let wait = backoff * (0.5 + Math.random() / 2); // jitter: retries from many requests do not arrive in step
      try {
        const res = await fetch(url, {
          method,
          headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: payload,
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) return await res.json();
        const message = serverMessage(await res.text());
        if ((method === 'GET' || route.startsWith('../')) && (res.status === 404 || res.status === 405)) return 'no-route';
        if (ENDPOINT_FAULTS.has(res.status)) throw failure(ErrorTypes.InvalidInput, `${this.identity}: HTTP ${res.status} on ${route}: ${message}`);
        if (res.status !== 429 && res.status !== 408 && res.status < 500) throw new RequestRejected(CONTEXT_OVERFLOW.test(message) ? 'context overflow' : 'rejected', res.status, message);
        retryable = `HTTP ${res.status}: ${message}`;
        if (res.status === 500) errors500.add(message);
        else only500 = false;
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) wait = Math.min(after * 1000, MAX_BACKOFF_MS);
      } catch (e) {
        if (e instanceof RequestRejected || (e as { type?: string }).type === ErrorTypes.InvalidInput) throw e;
        if (signal?.aborted) throw e;
        retryable = (e as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs / 1000} s` : `network error: ${(e as Error).message}`;
        only500 = false;
      }
      if (attempt >= retries) {
        if (method === 'POST' && only500 && errors500.size === 1 && attempt > 0) throw new RequestRejected('server error', 500, `${[...errors500][0]} (the same on all ${attempt + 1} tries)`);
        throw new Error(`${this.identity}: gave up after ${attempt + 1} tries (${retryable})`);
      }
      await new Promise((r) => setTimeout(r, wait));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async dispose(): Promise<void> {
    // nothing held open: fetch keeps no connection state of ours
  }
}

/** The server's own words: OpenAI's {"error": {"message"}}, vLLM's {"message"} or {"detail"}, else the text. */
function serverMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const m = typeof j.error === 'object' ? j.error?.message : (j.error ?? j.message ?? j.detail);
    if (typeof m === 'string') return m.slice(0, 500);
  } catch {
    // not JSON: keep the text
  }
  return text.slice(0, 500);
}

/**
 * Refuses an endpoint that is not vLLM for requests that depend on vLLM's extensions (`what`
 * names them): such a server would accept the request and answer another prompt.
 */
export function requireVllm(backend: GenerateBackend, what: string): void {
  if (backend instanceof OpenAIBackend && backend.notVllm) {
    throw failure(ErrorTypes.InvalidInput, `${backend.notVllm}. ${what} needs vLLM's request extensions, which other servers accept and ignore (llama.cpp's server closes the open turn and stops at the model's EOS): serve the model with vLLM`);
  }
}
