// `adamllm serve`: a local model behind an OpenAI-compatible endpoint, so one worker's model can
// serve others, and the stand-in the openai backend is tested against. It answers as vLLM does
// (activities/inference/vllm-semantics.ts names the vLLM source each rule mirrors): messages are rendered with the
// served folder's own chat template; unset sampling fields come from its generation_config.json;
// the stop set holds the model's EOS ids unless ignore_eos; add_special_tokens, continue_final_
// message and the image placeholders behave as there; /tokenize answers in vLLM's shape. It
// decodes greedily only, and refuses what it cannot do (sampling, presence or frequency
// penalties) instead of ignoring it. `stream: true` gets server-sent chunks ending with
// `data: [DONE]`, another model name a 404, and every error OpenAI's {"error": {…}} shape.
import http from 'node:http';
import type { Decoding, GenerateBackend, GenerateResult } from '../../activities/inference/backend';
import { checkChatRequest, checkPlaceholders, effectiveSampling, renderChat, VllmBadRequest, withSpecialTokens, type ServedFolder, type TemplateMessage } from '../../activities/inference/vllm-semantics';

interface OpenAIContentPart {
  type: string;
  text?: string;
  image_url?: { url: string };
}

/** An error answered with its HTTP status in OpenAI's shape (the SDKs read `error.message`, `type`, `param`, `code`). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

class BadRequest extends HttpError {
  constructor(message: string, param: string | null = null) {
    super(400, message, param);
  }
}

function errorBody(e: unknown): { status: number; body: unknown } {
  const h = e instanceof HttpError ? e : e instanceof VllmBadRequest ? new BadRequest(e.message) : null;
  const status = h?.status ?? 500;
  const type = status < 500 ? 'invalid_request_error' : 'server_error';
  return { status, body: { error: { message: (e as Error).message, type, param: h?.param ?? null, code: h?.code ?? null } } };
}

function decodeDataUrl(url: string): Uint8Array {
  const m = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url);
  if (!m) throw new BadRequest('image_url must be a data URL (data:image/...;base64,...): this server reads no remote images');
  return Buffer.from(m[1], 'base64');
}

/** OpenAI messages → messages as vLLM hands them to a chat template (parts), and the images in order. */
export function fromOpenAIMessages(messages: unknown): { messages: TemplateMessage[]; images: Uint8Array[] } {
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest('messages must be a non-empty array');
  const images: Uint8Array[] = [];
  const out = messages.map((m: { role?: unknown; content?: unknown }, i): TemplateMessage => {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') throw new BadRequest(`messages[${i}].role must be system, user or assistant`);
    if (typeof m.content === 'string') return { role: m.role, content: m.content };
    if (!Array.isArray(m.content)) throw new BadRequest(`messages[${i}].content must be text or a list of parts`);
    const parts = (m.content as OpenAIContentPart[]).map((p, j) => {
      if (p.type === 'text' && typeof p.text === 'string') return { type: 'text' as const, text: p.text };
      if (p.type === 'image_url' && typeof p.image_url?.url === 'string') {
        images.push(decodeDataUrl(p.image_url.url));
        return { type: 'image' as const };
      }
      throw new BadRequest(`messages[${i}].content[${j}] must be a text or image_url part`);
    });
    return { role: m.role, content: parts };
  });
  return { messages: out, images };
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

type Body = Record<string, unknown>;

/**
 * The decoding a request gets, after vLLM's fill-in from the folder's generation_config.json.
 * Greedy only: a temperature that is not 0 after the fill-in (vLLM's default is 1.0) is refused,
 * as are presence and frequency penalties; a repetition penalty is applied.
 */
function decodingOf(body: Body, folder: ServedFolder): Decoding {
  const s = effectiveSampling(body, folder.generation);
  if (s.temperature !== 0) {
    const why = body.temperature === undefined || body.temperature === null ? ` (unset in the request: ${folder.generation.temperature !== undefined ? "the model's generation_config.json" : "vLLM's default"} gives ${s.temperature})` : '';
    throw new BadRequest(`only greedy decoding (temperature 0) is served; temperature is ${s.temperature}${why}`, 'temperature');
  }
  if (s.presence_penalty !== 0 || s.frequency_penalty !== 0) throw new BadRequest('presence_penalty and frequency_penalty are not served (0 only)', 'presence_penalty');
  return {
    // vLLM's default is the rest of the context; this server's is shorter, for a CPU
    maxNewTokens: s.max_tokens ?? 256,
    stopTokenIds: Array.isArray(body.stop_token_ids) ? (body.stop_token_ids as number[]) : undefined,
    // stop strings are matched as single tokens here (vLLM matches text; the same for a special token kept in the text)
    stopTokens: Array.isArray(body.stop) ? (body.stop as string[]) : typeof body.stop === 'string' ? [body.stop] : undefined,
    keepSpecialTokens: body.skip_special_tokens === false,
    ignoreEos: body.ignore_eos === true,
    ...(s.repetition_penalty !== 1 ? { repetitionPenalty: s.repetition_penalty } : {}),
  };
}

/** The prompt text the model reads, and the images: chat rendered with the folder's template. */
function promptOf(body: Body, chat: boolean, folder: ServedFolder): { prompt: string; images?: Uint8Array[] } {
  if (chat) {
    checkChatRequest(body);
    const { messages, images } = fromOpenAIMessages(body.messages);
    const rendered = renderChat(folder, messages, { addGenerationPrompt: body.add_generation_prompt !== false, continueFinalMessage: body.continue_final_message === true });
    const prompt = withSpecialTokens(folder, rendered, body.add_special_tokens === true);
    checkPlaceholders(folder, prompt, images.length);
    return { prompt, images };
  }
  if (typeof body.prompt !== 'string') throw new BadRequest('prompt must be a string', 'prompt');
  return { prompt: withSpecialTokens(folder, body.prompt, body.add_special_tokens !== false) };
}

/**
 * POST /tokenize as vLLM answers it (vllm/entrypoints/serve/tokenize/serving.py): a prompt, or
 * messages rendered as for chat (add_special_tokens false and add_generation_prompt true unless
 * said), as the model's ids.
 */
async function tokenizeAnswer(body: Body, backend: GenerateBackend, folder: ServedFolder) {
  if (!backend.tokenize) throw new HttpError(404, 'this model has no tokenizer to ask');
  const text = body.messages !== undefined ? promptOf({ add_special_tokens: false, ...body }, true, folder).prompt : promptOf(body, false, folder).prompt;
  const tokens = await backend.tokenize(text);
  return { count: tokens.length, max_model_len: folder.maxModelLen ?? null, tokens, token_strs: null };
}

const usageOf = (r: GenerateResult) => ({ prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens });

/**
 * One request's answer as server-sent events: a first chunk (the assistant role, for chat),
 * the text as the backend produces it, a last chunk with finish_reason, usage when
 * stream_options.include_usage asks for it, then `data: [DONE]`. An error after the headers
 * went out is sent as a last `data: {"error": …}` event, as OpenAI does.
 */
async function streamAnswer(res: http.ServerResponse, head: { id: string; created: number; model: string }, chat: boolean, body: Body, run: (onText: (d: string) => void) => Promise<GenerateResult>) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const event = (data: unknown) => {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  const chunk = (delta: string | null, finish: string | null, extra: { role?: string } = {}) =>
    event({
      ...head,
      object: chat ? 'chat.completion.chunk' : 'text_completion',
      choices: [chat ? { index: 0, delta: { ...extra, ...(delta === null ? {} : { content: delta }) }, logprobs: null, finish_reason: finish } : { index: 0, text: delta ?? '', logprobs: null, finish_reason: finish }],
    });
  if (chat) chunk('', null, { role: 'assistant' });
  let sent = '';
  try {
    const r = await run((d) => {
      sent += d;
      chunk(d, null);
    });
    // The backend's pieces are a prefix of the final text; the rest (held back at a stop, or
    // all of it where the backend does not stream) goes in one piece.
    if (r.text.startsWith(sent) && r.text.length > sent.length) chunk(r.text.slice(sent.length), null);
    chunk(null, r.finishReason);
    if ((body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true) {
      event({ ...head, object: chat ? 'chat.completion.chunk' : 'text_completion', choices: [], usage: usageOf(r) });
    }
  } catch (e) {
    event(errorBody(e).body);
  }
  if (!res.destroyed) res.end('data: [DONE]\n\n');
}

export function createOpenAIServer(backend: GenerateBackend, modelName: string, folder: ServedFolder): http.Server {
  let counter = 0;
  // As vLLM's card, plus `revision` (ours): the content hash of the served folder, so a client can
  // tell a retrained folder at the same path from the old one (vLLM's root alone cannot).
  const modelCard = {
    id: modelName,
    object: 'model',
    created: Math.floor(Date.now() / 1000),
    owned_by: 'adamllm',
    root: folder.root,
    parent: null,
    ...(folder.maxModelLen ? { max_model_len: folder.maxModelLen } : {}),
    revision: backend.identity,
  };
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      try {
        const url = (req.url ?? '').split('?')[0];
        if (req.method === 'GET' && url === '/v1/models') return send(200, { object: 'list', data: [modelCard] });
        if (req.method === 'GET' && url.startsWith('/v1/models/')) {
          const id = decodeURIComponent(url.slice('/v1/models/'.length));
          if (id !== modelName) throw notFound(id, modelName);
          return send(200, modelCard);
        }
        if (req.method === 'POST' && url === '/tokenize') {
          const body = await readJson(req);
          if (body.model !== undefined && body.model !== modelName) throw notFound(String(body.model), modelName);
          return send(200, await tokenizeAnswer(body, backend, folder));
        }
        const chat = url === '/v1/chat/completions';
        if (req.method !== 'POST' || !(chat || url === '/v1/completions')) throw new HttpError(404, `Invalid URL (${req.method} ${req.url})`);
        const body = await readJson(req);
        if (body.n !== undefined && body.n !== null && body.n !== 1) throw new BadRequest('only n = 1 is served', 'n');
        // As vLLM: the request is validated first (400), then its model: none means the served
        // one, another is a 404.
        const decoding = decodingOf(body, folder);
        if (body.model !== undefined && body.model !== modelName) throw notFound(String(body.model), modelName);
        const request = promptOf(body, chat, folder);
        const head = { id: `${chat ? 'chatcmpl' : 'cmpl'}-${++counter}`, created: Math.floor(Date.now() / 1000), model: modelName };
        if (body.stream === true) {
          return await streamAnswer(res, head, chat, body, async (onText) => (await backend.generate([request], decoding, { onText }))[0]);
        }
        const [r] = await backend.generate([request], decoding);
        send(200, chat
          ? { ...head, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: r.text }, logprobs: null, finish_reason: r.finishReason }], usage: usageOf(r) }
          : { ...head, object: 'text_completion', choices: [{ index: 0, text: r.text, logprobs: null, finish_reason: r.finishReason }], usage: usageOf(r) });
      } catch (e) {
        const { status, body } = errorBody(e);
        if (res.headersSent) return void res.end();
        send(status, body);
      }
    })();
  });
}

function notFound(id: string, served: string): HttpError {
  return new HttpError(404, `The model \`${id}\` does not exist: this server serves \`${served}\``, 'model', 'model_not_found');
}
