// Run by tests/vllm in a plain Node process (onnxruntime-node checks typed arrays by identity;
// Jest's sandbox has its own): builds the requests the synthesize and evaluate stages build for
// a Qwen2-VL model (synthesis-request.ts, evaluation-request.ts, the stages' image preparation),
// sends them through the backend a model spec names (`{"backend": "onnx", ...}` or
// `{"backend": "openai", ...}`) and prints the results as JSON. Job on stdin: { model, captions, questions, image (a file), maxNewTokens }.
import fs from 'node:fs/promises';
import { prepareEvalImage } from '../../activities/evaluate/eval-image';
import { evaluationDecoding, evaluationRequest } from '../../activities/evaluate/evaluation-request';
import { backendFor } from '../../activities/inference/backend-for';
import { prepareSynthImage } from '../../activities/synthesize/synth-image';
import { synthesisDecoding, synthesisRequest } from '../../activities/synthesize/synthesis-request';
import { evalPrompt } from '../../core/eval/prompts';
import { EVAL_MAX_PIXELS, EVAL_MIN_PIXELS } from '../../core/eval/smart-resize';
import { TRAIN_IMAGE_MAX_PIXELS, TRAIN_IMAGE_MIN_PIXELS } from '../../core/synth/image-size';
import { ZModelRef } from '../../core/spec';

interface Job {
  model: unknown;
  captions: string[];
  questions: string[];
  image: string;
  maxNewTokens: number;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString()) as Job;
  const raw = new Uint8Array(await fs.readFile(job.image));
  const synthImage = (await prepareSynthImage(raw, { maxPixels: TRAIN_IMAGE_MAX_PIXELS, minPixels: TRAIN_IMAGE_MIN_PIXELS })).bytes;
  const evalImage = await prepareEvalImage(raw, { family: 'qwen2vl', minPixels: EVAL_MIN_PIXELS, maxPixels: EVAL_MAX_PIXELS });
  const backend = await backendFor(ZModelRef.parse(job.model), {}); // the spec's defaults, as a run gets them
  // one request per call: the onnx backend runs vision-language requests one at a time
  const synthesis = [];
  for (const c of job.captions) {
    synthesis.push(...(await backend.generate([synthesisRequest('qwen2vl', c, synthImage)], synthesisDecoding('qwen2vl', job.maxNewTokens))));
  }
  const evaluation = [];
  for (const q of job.questions) {
    evaluation.push(...(await backend.generate([evaluationRequest(evalPrompt('qwen2vl', q), evalImage)], evaluationDecoding(job.maxNewTokens))));
  }
  process.stdout.write(JSON.stringify({ identity: backend.identity, synthesis, evaluation }));
  await backend.dispose();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
