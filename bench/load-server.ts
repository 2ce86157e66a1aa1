// A load-generating OpenAI-compatible server for `npm run bench:serve`: a stand-in for a vLLM GPU
// server whose cost is a fixed latency per request and whose capacity is a batch of `cap`
// sequences (vLLM --max-num-seqs). No model: it answers each request `latencyMs` after admitting
// it, with `tokens` completion tokens, so its capacity is exactly cap / latency requests per
// second (256 / 2 s = 128/s) and anything slower than that is the client's doing.
//
//   GET  /v1/models             vLLM's shape: {object: list, data: [{id, object, root, max_model_len, owned_by}]}
//   POST /v1/chat/completions   the synthesizer: a valid synthesizer output (one triplet), see synthAnswer
//   POST /v1/completions        the judge: " Yes\n" (parseJudgeLabel keeps exactly "yes")
//   GET  /stats                 what it served (below); POST /stats/reset (or GET /stats?reset=1) zeroes it
//
// In process: startLoadServer({latencyMs, cap, tokens}); standalone:
//   node dist/bench/load-server.js --latency 2000 --cap 256 [--tokens 64] [--port 8000] [--model bench-synth]
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { INFORMATIVE_HINT, LLAMA3_SYNTH, PRECISE_HINT, QWEN2VL_SYNTH, type SynthContract } from '../core/synth/contract';

export interface LoadServerOptions {
  /** time from admission to the answer, per request */
  latencyMs: number;
  /** requests admitted at once (vLLM --max-num-seqs); the rest wait in FIFO order */
  cap: number;
  /** completion tokens of every answer (usage.completion_tokens), at most the request's max_tokens */
  tokens: number;
  port?: number;
  host?: string;
  /** the served model name; another name is a 404, as vLLM answers */
  model?: string;
}

export type Route = 'chat' | 'completions';

export interface RouteStats {
  requests: number;
  /** most requests admitted at once */
  maxConcurrency: number;
  /** union of the intervals during which at least one request was admitted */
  busyMs: number;
}

export interface LoadServerStats extends RouteStats {
  /** admitted now */
  inFlight: number;
  /** waiting for admission now */
  queued: number;
  /** most requests waiting for admission at once (> 0 only when clients send more than `cap`) */
  maxQueued: number;
  /** epoch ms of the last reset (or start) */
  sinceMs: number;
  byRoute: Record<Route, RouteStats>;
}

export interface WindowStats extends RouteStats {
  /** the requests admitted within the window (possibly answered after it) */
  admitted: number;
  /** the admitted intervals' lengths added up: ÷ the window's length = mean requests admitted */
  requestMs: number;
  /** epoch ms of the first admission and the last answer within the window (NaN: none) */
  firstMs: number;
  lastMs: number;
}

export interface LoadServer {
  url: string;
  port: number;
  model: string;
  stats(): LoadServerStats;
  /**
   * Requests, busy time and peak concurrency within [fromMs, toMs] (epoch ms), from every
   * admitted interval recorded since the last reset: stage windows come from the database's stage
   * attempt rows, so the server needs no signal about where stages begin and end.
   */
  window(fromMs: number, toMs: number, route?: Route): WindowStats;
  reset(): void;
  close(): Promise<void>;
}

/** Epoch milliseconds with sub-millisecond resolution (latency-0 requests last well under 1 ms). */
const now = () => performance.timeOrigin + performance.now();

/** Counts admitted requests and the union of their intervals without storing them. */
class Busy {
  active = 0;
  requests = 0;
  maxConcurrency = 0;
  private busyMs = 0;
  private since = 0;

  admit(t: number): void {
    if (this.active++ === 0) this.since = t;
    this.maxConcurrency = Math.max(this.maxConcurrency, this.active);
  }

  release(t: number): void {
    this.requests++;
    if (--this.active === 0) this.busyMs += t - this.since;
  }

  snapshot(t: number): RouteStats {
    return { requests: this.requests, maxConcurrency: this.maxConcurrency, busyMs: this.busyMs + (this.active > 0 ? t - this.since : 0) };
  }

  reset(t: number): void {
    // requests still admitted stay counted from the reset on
    this.requests = 0;
    this.busyMs = 0;
    this.since = t;
    this.maxConcurrency = this.active;
  }
}

/** A short hex name drawn from the request, so every item gets its own question (no duplicate tasks). */
const tag = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 12);

/** `n` one-token words (the filler that brings an answer to its token count). */
const filler = (n: number) => Array.from({ length: Math.max(0, n) }, (_, i) => ['red', 'blue', 'green', 'round', 'square', 'small', 'large', 'bright'][i % 8]).join(' ');

/**
 * A synthesizer output in the contract's grammar that parseSynthesis turns into exactly one
 * triplet: the same question asked in precise then informative mode (docs/method.md §4.4), each turn
 * closed by the turn end, without the end-of-text stop (vLLM leaves the stop out of the text).
 * The informative answer is padded so the whole output is about `tokens` words.
 */
export function synthAnswer(c: SynthContract, key: string, tokens: number): string {
  const question = `Which pattern is drawn in picture ${key}?`;
  const precise = `Pattern ${key}.`;
  const informative = `The picture shows pattern ${key}`;
  const turn = (hint: string, answer: string) => `${c.USER_OPEN}${hint}\n${question}${c.QA_SEP}${answer}${c.TURN_END}`;
  // the first turn's user header is already in the prompt (the synthesizer continues after it)
  const skeleton = `${turn(PRECISE_HINT, precise)}${turn(INFORMATIVE_HINT, informative)}`.slice(c.USER_OPEN.length);
  // about one token per word and per special token: ~40 for this skeleton in either grammar
  const pad = tokens - 40;
  return skeleton.replace(`${informative}${c.TURN_END}`, `${informative}${pad > 0 ? `: ${filler(pad)}` : ''}.${c.TURN_END}`);
}

interface ChatBody {
  model?: string;
  max_tokens?: number;
  stop?: string[] | string;
  stop_token_ids?: number[];
  messages?: { role: string; content: unknown }[];
  prompt?: unknown;
}

/** Which synthesizer grammar a chat request expects: Llama-3 stops on token 128001, Qwen2-VL on <|endoftext|>. */
function contractFor(b: ChatBody): SynthContract {
  const stops = typeof b.stop === 'string' ? [b.stop] : (b.stop ?? []);
  if (stops.includes(QWEN2VL_SYNTH.END)) return QWEN2VL_SYNTH;
  return LLAMA3_SYNTH;
}

/** A rough prompt size for usage (4 characters a token, 576 tokens an image as LLaVA-NeXT's base tile). */
function promptTokens(b: ChatBody): number {
  if (typeof b.prompt === 'string') return Math.ceil(b.prompt.length / 4);
  let chars = 0;
  let images = 0;
  for (const m of b.messages ?? []) {
    if (typeof m.content === 'string') chars += m.content.length;
    else if (Array.isArray(m.content)) for (const p of m.content as { type?: string; text?: string }[]) p.type === 'image_url' ? images++ : (chars += p.text?.length ?? 0);
  }
  return Math.ceil(chars / 4) + 576 * images;
}

const ROUTES: Record<string, Route | undefined> = { '/v1/chat/completions': 'chat', '/v1/completions': 'completions' };

const openAIError = (res: http.ServerResponse, status: number, message: string, code: string | null = null) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: status === 404 ? 'NotFoundError' : 'BadRequestError', param: null, code } }));

export async function startLoadServer(o: LoadServerOptions): Promise<LoadServer> {
  if (!(o.cap >= 1) || !(o.latencyMs >= 0) || !(o.tokens >= 1)) throw new Error('startLoadServer: cap ≥ 1, latencyMs ≥ 0 and tokens ≥ 1');
  const model = o.model ?? 'bench-model';
  const all = new Busy();
  const routes: Record<Route, Busy> = { chat: new Busy(), completions: new Busy() };
  // every admitted interval since the last reset: [admitted, answered] epoch ms, and its route
  // (24 bytes a request: 20,000 requests are under half a megabyte)
  let intervals: { from: number; to: number; route: Route }[] = [];
  const waiting: (() => void)[] = [];
  let maxQueued = 0;
  let sinceMs = now();

  // slots granted, counted when granted (admit() below runs a microtask later)
  let held = 0;
  /** Resolves when the request holds one of the `cap` slots (FIFO). */
  const admission = () =>
    new Promise<void>((admitted) => {
      if (held < o.cap && waiting.length === 0) {
        held++;
        return admitted();
      }
      waiting.push(admitted);
      maxQueued = Math.max(maxQueued, waiting.length);
    });
  const releaseSlot = () => {
    held--;
    // the longest-waiting request takes the freed slot before anything new can (FIFO)
    while (waiting.length > 0 && held < o.cap) {
      held++;
      waiting.shift()!();
    }
  };

  async function answer(route: Route, body: ChatBody, raw: string, res: http.ServerResponse) {
    await admission();
    const admittedAt = now();
    all.admit(admittedAt);
    routes[route].admit(admittedAt);
    try {
      // the answer is computed at once; only the wait stands for the GPU's work
      const max = body.max_tokens ?? 16;
      const completion = Math.min(o.tokens, max);
      let text: string;
      let finish = 'stop';
      if (route === 'chat') {
        text = synthAnswer(contractFor(body), tag(raw), o.tokens);
        if (o.tokens > max) finish = 'length'; // a real server would have cut the text here
      } else {
        text = ' Yes\n'.slice(0, completion === 1 ? 4 : 5);
        finish = completion >= 2 ? 'length' : 'stop';
      }
      if (o.latencyMs > 0) await new Promise((r) => setTimeout(r, o.latencyMs));
      const id = `bench-${tag(raw)}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: promptTokens(body), completion_tokens: completion, total_tokens: promptTokens(body) + completion };
      const answer =
        route === 'chat'
          ? { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }], usage }
          : { id, object: 'text_completion', created, model, choices: [{ index: 0, text, finish_reason: finish, logprobs: null }], usage };
      await new Promise<void>((done) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer), done));
    } finally {
      const t = now();
      intervals.push({ from: admittedAt, to: t, route });
      all.release(t);
      routes[route].release(t);
      releaseSlot();
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', created: Math.floor(sinceMs / 1000), root: model, parent: null, max_model_len: 8192, owned_by: 'vllm' }] }));
        return;
      }
      if (url.pathname === '/stats' || url.pathname === '/stats/reset') {
        if (url.pathname === '/stats/reset' || url.searchParams.get('reset') === '1') handle.reset();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(handle.stats()));
        return;
      }
      const route: Route | undefined = req.method === 'POST' ? ROUTES[url.pathname] : undefined;
      if (!route) return openAIError(res, 404, `no route ${req.method} ${url.pathname}`);
      let body: ChatBody;
      try {
        body = JSON.parse(raw) as ChatBody;
      } catch {
        return openAIError(res, 400, 'the body is not JSON');
      }
      if (body.model !== model) return openAIError(res, 404, `The model \`${body.model}\` does not exist.`, 'model_not_found');
      if (route === 'chat' && !Array.isArray(body.messages)) return openAIError(res, 400, 'messages: required');
      if (route === 'completions' && typeof body.prompt !== 'string') return openAIError(res, 400, 'prompt: a string is required');
      answer(route, body, raw, res).catch(() => res.destroy());
    });
  });
  // Clients keep connections open between requests; a server closing an idle one first races the
  // client's next request on it (ECONNRESET), so idle connections live longer than any pause here.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const handle: LoadServer = {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    model,
    stats() {
      const t = now();
      return { ...all.snapshot(t), inFlight: all.active, queued: waiting.length, maxQueued, sinceMs, byRoute: { chat: routes.chat.snapshot(t), completions: routes.completions.snapshot(t) } };
    },
    window(fromMs, toMs, route) {
      const inside = intervals.filter((i) => (!route || i.route === route) && i.to > fromMs && i.from < toMs).map((i) => ({ from: Math.max(fromMs, i.from), to: Math.min(toMs, i.to) }));
      // union of intervals and peak overlap, by one sweep over their ends
      const events = inside.flatMap((i) => [{ t: i.from, d: 1 }, { t: i.to, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
      let active = 0;
      let peak = 0;
      let busyMs = 0;
      let since = 0;
      const requestMs = inside.reduce((a, i) => a + i.to - i.from, 0);
      for (const e of events) {
        if (e.d > 0 && active++ === 0) since = e.t;
        if (e.d < 0 && --active === 0) busyMs += e.t - since;
        peak = Math.max(peak, active);
      }
      const admitted = intervals.filter((i) => (!route || i.route === route) && i.from >= fromMs && i.from < toMs).length;
      return { requests: inside.length, admitted, maxConcurrency: peak, busyMs, requestMs, firstMs: events[0]?.t ?? NaN, lastMs: events.at(-1)?.t ?? NaN };
    },
    reset() {
      const t = now();
      all.reset(t);
      routes.chat.reset(t);
      routes.completions.reset(t);
      intervals = [];
      maxQueued = waiting.length;
      sinceMs = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return handle;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number, got ${process.argv[i + 1]}`);
  return v;
}

if (require.main === module) {
  const i = process.argv.indexOf('--model');
  const o = { latencyMs: arg('latency', 2000), cap: arg('cap', 256), tokens: arg('tokens', 64), port: arg('port', 8000), model: i > 0 ? process.argv[i + 1] : undefined };
  startLoadServer(o)
    .then((s) => {
      process.stdout.write(`load server: ${s.url}/v1 model ${s.model}, latency ${o.latencyMs} ms, cap ${o.cap} (capacity ${((1000 * o.cap) / Math.max(1, o.latencyMs)).toFixed(1)} requests/s), ${o.tokens} tokens; GET ${s.url}/stats\n`);
      process.once('SIGINT', () => void s.close().then(() => process.exit(0)));
    })
    .catch((e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    });
}
