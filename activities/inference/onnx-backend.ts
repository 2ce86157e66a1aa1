// The in-process backend: transformers.js on onnxruntime-node, loading a local model folder in
// the transformers.js ONNX layout (Qwen2-VL family, or a text-only causal LM for the judge).
// CPU by default; ADAMLLM_ONNX_DEVICE=cuda selects the CUDA execution provider where the
// onnxruntime-node build has it (not on these machines). Each folder loads once per worker.
import fs from 'node:fs/promises';
import path from 'node:path';
import { folderRevision } from '../model-registry/upsert-model';
import { cutAtStop, imageBytes, stopSet, type Decoding, type GenerateBackend, type GenerateOptions, type GenerateRequest, type GenerateResult } from './backend';

type Transformers = typeof import('@huggingface/transformers');
// Loaded on first use: only workers that run models pay for onnxruntime.
const loadTransformers = (): Transformers => require('@huggingface/transformers') as Transformers;

interface Tensorish {
  dims: number[];
  tolist(): unknown[];
}

const ids2d = (t: Tensorish): number[][] => (t.tolist() as unknown[][]).map((row) => row.map(Number));

/**
 * transformers.js starts every generate() from the folder's generation_config.json (a released
 * Qwen2-VL's says repetition_penalty 1.05): these override whatever in it would change a plain
 * greedy decode, so the folder decides only the EOS ids (models/generation_config.js in
 * @huggingface/transformers lists the fields).
 */
const PLAIN_GREEDY = {
  do_sample: false,
  num_beams: 1,
  no_repeat_ngram_size: 0,
  min_length: 0,
  min_new_tokens: null,
  bad_words_ids: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
} as const;

class OnnxBackend implements GenerateBackend {
  readonly mode = 'batch';

  constructor(
    readonly identity: string,
    private readonly kind: 'vision-language' | 'text',
    private readonly model: { generate(o: object): Promise<unknown>; dispose(): Promise<unknown> },
    private readonly processor: { (text: string, images?: unknown): Promise<Record<string, Tensorish>>; tokenizer: TokenizerLike },
    private readonly eos: number[],
    private readonly t: Transformers,
  ) {}

  async generate(batch: GenerateRequest[], d: Decoding, o: GenerateOptions = {}): Promise<GenerateResult[]> {
    const onText = o.onText;
    // Vision-language requests run one at a time: batched Qwen2-VL generation in
    // transformers.js 4.3 unmasks padding after the first step (environment.md, pitfall 6).
    if (this.kind === 'vision-language' || batch.some((r) => r.images?.length)) {
      const out: GenerateResult[] = [];
      for (const r of batch) out.push(...(await this.run([r], d, batch.length === 1 ? onText : undefined)));
      return out;
    }
    return this.run(batch, d, batch.length === 1 ? onText : undefined);
  }

  /**
   * A transformers.js streamer for a one-request batch: the first put is the prompt, then one
   * id per step. The text so far is re-decoded each step (outputs are short) and handed on once
   * it extends what was sent and does not end inside a multi-byte character (U+FFFD).
   */
  private streamer(stop: ReadonlySet<number>, d: Decoding, onText: (delta: string) => void) {
    const ids: number[] = [];
    let prompt = true;
    let stopped = false;
    let sent = '';
    return {
      put: (value: bigint[][]) => {
        if (prompt) {
          prompt = false;
          return;
        }
        const id = Number(value[0][0]);
        if (stopped || stop.has(id) || ids.length >= d.maxNewTokens) {
          stopped = true;
          return;
        }
        ids.push(id);
        // a model may stop at once (its first token a stop id): transformers.js refuses to decode no ids
      const text = ids.length === 0 ? '' : this.processor.tokenizer.decode(ids, { skip_special_tokens: !d.keepSpecialTokens, clean_up_tokenization_spaces: false });
        if (text.length > sent.length && text.startsWith(sent) && !text.endsWith('\ufffd')) {
          onText(text.slice(sent.length));
          sent = text;
        }
      },
      end: () => undefined,
    };
  }

  private async run(batch: GenerateRequest[], d: Decoding, onText?: (delta: string) => void): Promise<GenerateResult[]> {
    const started = performance.now();
    const stops = stopSet(d, this.eos, (t) => this.tokenId(t));
    let inputs: Record<string, Tensorish>;
    if (this.kind === 'vision-language') {
      const r = batch[0];
      const images = await Promise.all((r.images ?? []).map(async (i) => this.t.RawImage.fromBlob(new Blob([Buffer.from(await imageBytes(i))]))));
      inputs = await this.processor(r.prompt, images.length === 1 ? images[0] : images.length ? images : undefined);
    } else {
      const tok = this.processor.tokenizer;
      tok.padding_side = 'left';
      inputs = tok(batch.map((r) => r.prompt), { padding: true, add_special_tokens: false }) as unknown as Record<string, Tensorish>;
    }
    const width = inputs.input_ids.dims[1];
    const mask = ids2d(inputs.attention_mask);
    const streamer = onText ? this.streamer(stops, d, onText) : undefined;
    const output = (await this.model.generate({ ...inputs, max_new_tokens: d.maxNewTokens, ...PLAIN_GREEDY, repetition_penalty: d.repetitionPenalty ?? 1, eos_token_id: [...stops], pad_token_id: this.eos[0], streamer })) as Tensorish;
    const ms = performance.now() - started;
    return ids2d(output).map((row, i) => {
      const { ids, finishReason } = cutAtStop(row.slice(width), stops, d.maxNewTokens);
      // a model may stop at once (its first token a stop id): transformers.js refuses to decode no ids
      const text = ids.length === 0 ? '' : this.processor.tokenizer.decode(ids, { skip_special_tokens: !d.keepSpecialTokens, clean_up_tokenization_spaces: false });
      return { text, finishReason, outputIds: ids, promptTokens: mask[i].reduce((a, b) => a + b, 0), completionTokens: ids.length + (finishReason === 'stop' ? 1 : 0), ms: ms / batch.length };
    });
  }

  async tokenize(text: string): Promise<number[]> {
    return this.processor.tokenizer.encode(text, { add_special_tokens: false });
  }

  /** The id of a special token's text; refuses text that is not a single token. */
  private tokenId(token: string): number {
    const ids = this.processor.tokenizer.encode(token, { add_special_tokens: false });
    if (ids.length !== 1) throw new Error(`stop token ${JSON.stringify(token)} is not a single token of this model`);
    return ids[0];
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

interface TokenizerLike {
  padding_side: string;
  (texts: string[], o: object): unknown;
  decode(ids: number[], o: object): string;
  encode(text: string, o: object): number[];
}

const loaded = new Map<string, Promise<GenerateBackend>>();

/** The backend for a local model folder on `device` (the worker's ADAMLLM_ONNX_DEVICE); loads it once per process and device. */
export function onnxBackend(folder: string, device = 'cpu'): Promise<GenerateBackend> {
  const dir = path.resolve(folder);
  const key = `${device}:${dir}`;
  if (!loaded.has(key)) loaded.set(key, load(dir, device));
  return loaded.get(key)!;
}

async function load(dir: string, deviceName: string): Promise<GenerateBackend> {
  const t = loadTransformers();
  t.env.allowRemoteModels = false; // nothing is downloaded at run time
  t.env.allowLocalModels = true;
  t.env.localModelPath = `${path.dirname(dir)}${path.sep}`;
  const name = path.basename(dir);
  const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: string };
  const gen = JSON.parse(await fs.readFile(path.join(dir, 'generation_config.json'), 'utf8').catch(() => '{}')) as { eos_token_id?: number | number[] };
  // the model's EOS ids as vLLM collects them: the generation config's list and the tokenizer's own
  const genEos = ([] as number[]).concat(gen.eos_token_id ?? []);
  const withTokenizerEos = (tok: { eos_token_id?: number | null }) => [...new Set([...genEos, ...(typeof tok.eos_token_id === 'number' ? [tok.eos_token_id] : [])])];
  const device = deviceName as 'cpu';
  const identity = await folderRevision('onnx', dir);
  if (config.model_type === 'qwen2_vl') {
    const processor = await t.AutoProcessor.from_pretrained(name);
    const model = await t.Qwen2VLForConditionalGeneration.from_pretrained(name, { dtype: 'fp32', device });
    return new OnnxBackend(identity, 'vision-language', model as never, processor as never, withTokenizerEos((processor as { tokenizer: { eos_token_id?: number } }).tokenizer), t);
  }
  const tokenizer = await t.AutoTokenizer.from_pretrained(name);
  const model = await t.AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device });
  const asProcessor = Object.assign(async () => ({}), { tokenizer }) as never;
  return new OnnxBackend(identity, 'text', model as never, asProcessor, withTokenizerEos(tokenizer as { eos_token_id?: number }), t);
}
