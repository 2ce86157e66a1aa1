// A scriptable OpenAI-compatible server for tests: /v1/models answers as vLLM does (root,
// max_model_len), completions answer after `holdMs` through `answer`, which may refuse a request
// (any status) by what it contains. It counts requests and the most it ever had in flight.
// It also records, per completion request, what vLLM would decode it with: the sampling after
// vLLM's fill-in from the served generation_config.json and the stop set with the model's EOS
// ids unless ignore_eos (activities/inference/vllm-semantics.ts names the vLLM sources), and
// answers /tokenize in vLLM's shape from a small vocabulary of special tokens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stopSet } from '../../activities/inference/backend';
import { effectiveSampling, type Sampling } from '../../activities/inference/vllm-semantics';

export interface FakeReply {
  status?: number;
  /** default stop */
  finishReason?: 'stop' | 'length';
  /** usage.completion_tokens (default 20) */
  completionTokens?: number;
  /** the completion text (status 200), or the error message */
  text: string;
}

/** The special tokens of the vocabularies the project's prompt formats use (Qwen2 and Llama-3 ids). */
export const SPECIAL_IDS: Record<string, number> = {
  '<|endoftext|>': 151643,
  '<|im_start|>': 151644,
  '<|im_end|>': 151645,
  '<|begin_of_text|>': 128000,
  '<|end_of_text|>': 128001,
  '<|eot_id|>': 128009,
};

/** What vLLM would decode one request with. */
export interface Effective {
  sampling: Sampling;
  stopIds: number[];
}

export interface FakeServer {
  baseUrl: string;
  /** completion requests received (not /models, not /tokenize), by body */
  bodies: string[];
  /** per completion request, in order: what vLLM would decode it with */
  effective: Effective[];
  /** /tokenize requests received */
  tokenizeCalls: number;
  maxInFlight: number;
  root: string;
  setAnswer(f: (body: string, nth: number) => FakeReply): void;
  close(): Promise<void>;
}

export const LLAMA_SEP = '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n';
const UH = '<|start_header_id|>user<|end_header_id|>\n\n';

/** A released-synthesizer (llava-llama3) answer with one triplet whose question is `q`. */
export function llamaTriplet(q: string): string {
  return `Answer with a precise response.\n${q}${LLAMA_SEP}Soup<|eot_id|>${UH}Answer with an informative response.\n${q}${LLAMA_SEP}A bowl of hot soup.<|eot_id|>`;
}

export interface FakeOptions {
  model: string;
  root?: string;
  maxModelLen?: number;
  holdMs?: number;
  /** the served folder's generation_config.json (default {}) */
  generationConfig?: Record<string, unknown>;
  /** the tokenizer's own EOS id */
  tokenizerEos?: number;
  /** no /tokenize route (a server that is not vLLM) */
  noTokenize?: boolean;
  /** the /v1/models card: vLLM's (default), or a bare one without root and max_model_len, as llama-cpp-python's server writes it */
  card?: 'vllm' | 'bare';
}

/** A fake tokenizer: a special token is its id, any other text one made-up id per character. */
const fakeTokens = (text: string): number[] => (text in SPECIAL_IDS ? [SPECIAL_IDS[text]] : [...text].map((c) => 1000 + c.codePointAt(0)!));

/**
 * The scripted text is the model's whole output: vLLM ends it at the first token of the stop set
 * (left out of the text) or the first stop string (vllm/v1/engine/detokenizer.py).
 */
function cutAtStop(text: string, stopIds: Set<number>, stop: unknown): string {
  const marks = [...Object.entries(SPECIAL_IDS).filter(([, id]) => stopIds.has(id)).map(([t]) => t), ...([] as unknown[]).concat(stop ?? []).filter((x): x is string => typeof x === 'string')];
  const at = Math.min(...marks.map((m) => text.indexOf(m)).filter((i) => i >= 0), text.length);
  return text.slice(0, at);
}

export async function startFakeOpenAI(o: FakeOptions): Promise<FakeServer> {
  let inFlight = 0;
  let answer: (body: string, nth: number) => FakeReply = () => ({ text: 'Yes' });
  const generation = o.generationConfig ?? {};
  const modelEos = [...(o.tokenizerEos !== undefined ? [o.tokenizerEos] : []), ...([] as number[]).concat((generation.eos_token_id as number | number[] | undefined) ?? [])];
  const state: FakeServer = {
    baseUrl: '',
    bodies: [],
    effective: [],
    tokenizeCalls: 0,
    maxInFlight: 0,
    root: o.root ?? o.model,
    setAnswer: (f) => {
      answer = f;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/models') {
      const card = o.card === 'bare' ? { id: o.model, object: 'model', owned_by: 'me', permissions: [] } : { id: o.model, object: 'model', owned_by: 'vllm', root: state.root, max_model_len: o.maxModelLen ?? 4096 };
      send(200, { object: 'list', data: [card] });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/tokenize') {
        if (o.noTokenize) return send(404, { detail: 'Not Found' });
        state.tokenizeCalls++;
        const tokens = fakeTokens(String((JSON.parse(body) as { prompt?: unknown }).prompt ?? ''));
        return send(200, { count: tokens.length, max_model_len: o.maxModelLen ?? 4096, tokens, token_strs: null });
      }
      const json = JSON.parse(body) as Record<string, unknown>;
      const stops = stopSet({ maxNewTokens: 0, ignoreEos: json.ignore_eos === true, stopTokenIds: json.stop_token_ids as number[] | undefined }, modelEos, () => -1);
      state.effective.push({ sampling: effectiveSampling(json, generation), stopIds: [...stops].sort((a, b) => a - b) });
      const nth = state.bodies.push(body);
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const r = answer(body, nth);
        if ((r.status ?? 200) !== 200) return send(r.status!, { object: 'error', message: r.text, type: 'BadRequestError', code: r.status });
        const chat = req.url === '/v1/chat/completions';
        const text = cutAtStop(r.text, new Set(stops), json.stop);
        const finish = r.finishReason ?? 'stop';
        const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finish } : { index: 0, text, finish_reason: finish };
        const written = r.completionTokens ?? 20;
        send(200, { id: `x-${nth}`, object: chat ? 'chat.completion' : 'text_completion', model: o.model, choices: [choice], usage: { prompt_tokens: 100, completion_tokens: written, total_tokens: 100 + written } });
      }, o.holdMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}
