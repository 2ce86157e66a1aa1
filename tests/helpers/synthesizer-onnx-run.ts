// Run by train-model.test.ts in a plain Node process (onnxruntime-node checks typed arrays by
// identity; Jest's sandbox has its own): loads a trained synthesizer's ONNX folder the way the
// synthesize stage does ({"backend": "onnx", "path": …}) and asks it for tasks with the stage's
// prompt and decoding. Prints the outputs as JSON.
import fs from 'node:fs/promises';
import { backendFor } from '../../activities/inference/backend-for';
import { synthesisDecoding, synthesisRequest } from '../../activities/synthesize/synthesis-request';

async function main(dir: string, image: string, caption: string): Promise<void> {
  const backend = await backendFor({ backend: 'onnx', path: dir }, {});
  const request = synthesisRequest('qwen2vl', caption, await fs.readFile(image));
  const [out] = await backend.generate([request], synthesisDecoding('qwen2vl', 24));
  process.stdout.write(JSON.stringify({ identity: backend.identity, out }));
  await backend.dispose();
}

main(process.argv[2], process.argv[3], process.argv[4]).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
