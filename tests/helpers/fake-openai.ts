// A scriptable OpenAI-compatible server for tests: /v1/models answers as vLLM does (root,
// max_model_len), completions answer after `holdMs` through `answer`, which may refuse a request
// (any status) by what it contains. It counts requests and the most it ever had in flight.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeReply {
  status?: number;
  /** the completion text (status 200), or the error message */
  text: string;
}

export interface FakeServer {
  baseUrl: string;
  /** completion requests received (not /models), by body */
  bodies: string[];
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

export async function startFakeOpenAI(o: { model: string; root?: string; maxModelLen?: number; holdMs?: number }): Promise<FakeServer> {
  let inFlight = 0;
  let answer: (body: string, nth: number) => FakeReply = () => ({ text: 'Yes' });
  const state: FakeServer = {
    baseUrl: '',
    bodies: [],
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
      send(200, { object: 'list', data: [{ id: o.model, object: 'model', owned_by: 'vllm', root: state.root, max_model_len: o.maxModelLen ?? 4096 }] });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const nth = state.bodies.push(body);
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const r = answer(body, nth);
        if ((r.status ?? 200) !== 200) return send(r.status!, { object: 'error', message: r.text, type: 'BadRequestError', code: r.status });
        const chat = req.url === '/v1/chat/completions';
        const choice = chat ? { index: 0, message: { role: 'assistant', content: r.text }, finish_reason: 'stop' } : { index: 0, text: r.text, finish_reason: 'stop' };
        send(200, { id: `x-${nth}`, object: chat ? 'chat.completion' : 'text_completion', model: o.model, choices: [choice], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
      }, o.holdMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}
