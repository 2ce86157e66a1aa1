// Loads the tiny models built by models/build_tiny_models.py with transformers.js (Node) and
// checks that greedy generate() produces the same token ids as PyTorch did
// (<out>/reference_generations.json, written by the build script).
//
//   node models/check_transformersjs.mjs <out>
//
// The packages are loaded with a CommonJS require() (the project's own node_modules, or
// NODE_PATH when run from elsewhere: ES-module imports ignore NODE_PATH).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { env, AutoProcessor, AutoTokenizer, AutoModelForCausalLM, Qwen2VLForConditionalGeneration, RawImage } =
    require('@huggingface/transformers');

const outDir = path.resolve(process.argv[2] ?? 'models/out');
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = outDir + path.sep;
const reference = JSON.parse(fs.readFileSync(path.join(outDir, 'reference_generations.json'), 'utf8'));
const GEN = { max_new_tokens: 16, do_sample: false };

const toNumbers = (tensor) => tensor.tolist().map((row) => row.map(Number));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
let failures = 0;

function report(label, got, want) {
    const ok = same(got, want);
    if (!ok) failures++;
    console.log(`${ok ? 'MATCH   ' : 'MISMATCH'} ${label}`);
    if (!ok) console.log(`  transformers.js: ${JSON.stringify(got)}\n  pytorch:         ${JSON.stringify(want)}`);
}

async function checkVisionLanguage() {
    const ref = reference['qwen2vl-tiny'];
    const image = await RawImage.read(path.join(outDir, 'reference_image.png'));

    const processor = await AutoProcessor.from_pretrained('qwen2vl-tiny');
    const model = await Qwen2VLForConditionalGeneration.from_pretrained('qwen2vl-tiny', { dtype: 'fp32' });
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: ref.text }] }];
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    const inputs = await processor(text, image);
    const prompt = toNumbers(inputs.input_ids);
    report('qwen2vl-tiny prompt ids (chat template + image tokens)', prompt[0], ref.prompt_ids);
    report('qwen2vl-tiny image_grid_thw', toNumbers(inputs.image_grid_thw), ref.image_grid_thw);

    const output = await model.generate({ ...inputs, ...GEN });
    const generated = toNumbers(output).map((row) => row.slice(prompt[0].length));
    report('qwen2vl-tiny greedy ids, batch 1', generated, ref.generated_ids);
    await model.dispose();
}

async function checkTextLM() {
    const ref = reference['qwen2-tiny'];
    const tokenizer = await AutoTokenizer.from_pretrained('qwen2-tiny');
    const model = await AutoModelForCausalLM.from_pretrained('qwen2-tiny', { dtype: 'fp32' });
    for (const [i, prompt] of ref.prompts.entries()) {
        const inputs = tokenizer(prompt);
        const ids = toNumbers(inputs.input_ids)[0];
        report(`qwen2-tiny prompt ids "${prompt}"`, ids, ref.prompt_ids[i]);
        const output = await model.generate({ ...inputs, ...GEN });
        report(`qwen2-tiny greedy ids, batch 1, "${prompt}"`, [toNumbers(output)[0].slice(ids.length)], [ref.generated_ids[i]]);
    }
    // A left-padded batch of both prompts.
    tokenizer.padding_side = 'left';
    const batch = tokenizer(ref.prompts, { padding: true });
    const output = await model.generate({ ...batch, ...GEN });
    const width = batch.input_ids.dims[1];
    report('qwen2-tiny greedy ids, left-padded batch 2', toNumbers(output).map((row) => row.slice(width)), ref.batch_generated_ids);
    await model.dispose();
}

await checkVisionLanguage();
await checkTextLM();
console.log(failures === 0 ? 'All transformers.js outputs match PyTorch.' : `${failures} check(s) failed.`);
process.exit(failures === 0 ? 0 : 1);
