// Run by completion-sequence.test.ts in a plain Node process (onnxruntime-node and Jest's
// sandbox do not mix): the ids transformers.js's processor gives each prompt, loaded the way the
// onnx backend loads a Qwen2-VL folder, and the prompt token count the backend itself reports.
// Prints JSON: [{ ids, promptTokens }] per prompt.
import fs from 'node:fs/promises';
import path from 'node:path';
import { onnxBackend } from '../../activities/inference/onnx-backend';

async function main(folder: string, promptsFile: string): Promise<void> {
  const prompts = JSON.parse(await fs.readFile(promptsFile, 'utf8')) as string[];
  const t = (await import('@huggingface/transformers')) as typeof import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.localModelPath = `${path.dirname(path.resolve(folder))}${path.sep}`;
  const processor = await t.AutoProcessor.from_pretrained(path.basename(folder));
  const backend = await onnxBackend(folder);
  const out = [];
  for (const prompt of prompts) {
    const inputs = (await (processor as unknown as (text: string) => Promise<{ input_ids: { tolist(): unknown[][] } }>)(prompt)).input_ids;
    const [r] = await backend.generate([{ prompt }], { maxNewTokens: 1 });
    out.push({ ids: inputs.tolist()[0].map(Number), promptTokens: r.promptTokens });
  }
  process.stdout.write(JSON.stringify(out));
  await backend.dispose();
}

main(process.argv[2], process.argv[3]).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
