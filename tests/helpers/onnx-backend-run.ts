// Run by onnx-backend.test.ts in a plain Node process: onnxruntime-node checks typed arrays by
// identity, and Jest's sandbox has typed-array classes of its own. Prints results as JSON.
import fs from 'node:fs/promises';
import path from 'node:path';
import { onnxBackend } from '../../activities/inference/onnx-backend';

async function main(out: string): Promise<void> {
  const reference = JSON.parse(await fs.readFile(path.join(out, 'reference_generations.json'), 'utf8'));
  const lm = await onnxBackend(path.join(out, 'qwen2-tiny'));
  const text = reference['qwen2-tiny'];
  const neverStop = { maxNewTokens: 16, ignoreEos: true, stopTokenIds: [-1] };
  const single = await lm.generate([{ prompt: text.prompts[0] }], neverStop);
  const batch = await lm.generate(text.prompts.map((prompt: string) => ({ prompt })), neverStop);
  const stop = await lm.generate([{ prompt: text.prompts[0] }], { maxNewTokens: 16, stopTokenIds: [text.generated_ids[0][2]] });
  // the first generated token is a stop id: an empty answer, not an error
  const streamed: string[] = [];
  const stopAtOnce = await lm.generate([{ prompt: text.prompts[0] }], { maxNewTokens: 16, stopTokenIds: [text.generated_ids[0][0]] }, { onText: (t) => streamed.push(t) });
  const again = (await onnxBackend(path.join(out, 'qwen2-tiny'))) === lm;

  const vl = await onnxBackend(path.join(out, 'qwen2vl-tiny'));
  const v = reference['qwen2vl-tiny'];
  const prompt = `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>${v.text}<|im_end|>\n<|im_start|>assistant\n`;
  const image = await fs.readFile(path.join(out, 'reference_image.png'));
  const vision = await vl.generate([{ prompt, images: [image] }], { maxNewTokens: 16, ignoreEos: true, stopTokenIds: [-1], keepSpecialTokens: true });
  process.stdout.write(JSON.stringify({ identity: lm.identity, again, single, batch, stop, stopAtOnce, streamed, vision }));
  await lm.dispose();
  await vl.dispose();
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
