// `adamllm serve`: a local model behind an OpenAI-compatible chat-completions endpoint, so one
// worker's model can serve others and the openai backend is tested against a real server.
// Messages render with the Qwen2-VL chat format; the vLLM request extensions the method needs
// are honoured: add_generation_prompt, continue_final_message, skip_special_tokens, stop_token_ids.
import http from 'node:http';
import { renderQwen2VL, type ChatPart, type ChatTurn } from '../../core/chat/qwen2vl';
import type { GenerateBackend } from './backend';

interface OpenAIContentPart {
  type: string;
  text?: string;
  image_url?: { url: string };
}

class BadRequest extends Error {}

function decodeDataUrl(url: string): Uint8Array {
  const m = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url);
  if (!m) throw new BadRequest('image_url must be a data URL (data:image/...;base64,...): this server reads no remote images');
  return Buffer.from(m[1], 'base64');
}

/** OpenAI messages → our chat turns and the images in order of appearance. */
export function fromOpenAIMessages(messages: unknown): { turns: ChatTurn[]; images: Uint8Array[] } {
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest('messages must be a non-empty array');
  const images: Uint8Array[] = [];
  const turns = messages.map((m: { role?: unknown; content?: unknown }, i) => {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') throw new BadRequest(`messages[${i}].role must be system, user or assistant`);
    if (typeof m.content === 'string') return { role: m.role, content: m.content } as ChatTurn;
    if (!Array.isArray(m.content)) throw new BadRequest(`messages[${i}].content must be text or a list of parts`);
    const parts: ChatPart[] = (m.content as OpenAIContentPart[]).map((p, j) => {
      if (p.type === 'text' && typeof p.text === 'string') return { type: 'text', text: p.text };
      if (p.type === 'image_url' && typeof p.image_url?.url === 'string') {
        images.push(decodeDataUrl(p.image_url.url));
        return { type: 'image', index: images.length - 1 };
      }
      throw new BadRequest(`messages[${i}].content[${j}] must be a text or image_url part`);
    });
    return { role: m.role, content: parts } as ChatTurn;
  });
  return { turns, images };
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

export function createOpenAIServer(backend: GenerateBackend, modelName: string): http.Server {
  let counter = 0;
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: modelName, object: 'model', owned_by: 'adamllm' }] });
        const chat = req.url === '/v1/chat/completions';
        if (req.method !== 'POST' || !(chat || req.url === '/v1/completions')) return send(404, { error: { message: `no route ${req.method} ${req.url}` } });
        const body = await readJson(req);
        if (body.temperature !== undefined && body.temperature !== 0) throw new BadRequest('only greedy decoding (temperature 0) is served');
        let request: { prompt: string; images?: Uint8Array[] };
        if (chat) {
          const { turns, images } = fromOpenAIMessages(body.messages);
          request = { prompt: renderQwen2VL({ messages: turns, addGenerationPrompt: body.add_generation_prompt !== false, continueFinalMessage: body.continue_final_message === true }), images };
        } else {
          if (typeof body.prompt !== 'string') throw new BadRequest('prompt must be a string');
          request = { prompt: body.prompt };
        }
        const [r] = await backend.generate([request], {
          maxNewTokens: typeof body.max_tokens === 'number' ? body.max_tokens : 256,
          stopTokenIds: Array.isArray(body.stop_token_ids) ? (body.stop_token_ids as number[]) : undefined,
          stopTokens: Array.isArray(body.stop) ? (body.stop as string[]) : undefined,
          keepSpecialTokens: body.skip_special_tokens === false,
        });
        const usage = { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens };
        const id = `${chat ? 'chatcmpl' : 'cmpl'}-${++counter}`;
        send(200, chat
          ? { id, object: 'chat.completion', model: modelName, choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finishReason }], usage }
          : { id, object: 'text_completion', model: modelName, choices: [{ index: 0, text: r.text, finish_reason: r.finishReason }], usage });
      } catch (e) {
        send(e instanceof BadRequest ? 400 : 500, { error: { message: (e as Error).message } });
      }
    })();
  });
}
