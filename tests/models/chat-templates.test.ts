// The chat requests the model stages send, rendered as a chat server renders them, must give the
// exact prompt the method requires (core/synth/contract.ts, core/eval/prompts.ts), byte for byte.
// Two renderers: the stand-ins' (@huggingface/jinja, activities/inference/vllm-semantics.ts) and
// the one vLLM itself calls, transformers' apply_chat_template (Python jinja2), run in the
// trainer's interpreter. Two templates: the project's Llama-3 template for the released
// synthesizer (core/chat/templates/llava-llama3.jinja) and Qwen2-VL's stock template, as the
// tiny test model carries it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { renderChat, withSpecialTokens, type ServedFolder, type TemplateMessage } from '../../activities/inference/vllm-semantics';
import { synthesisChat, type ChatPrompt } from '../../core/chat/qwen2vl';
import { evalPrompt } from '../../core/eval/prompts';
import { LLAMA3_SYNTH, LLAMA3_SYSTEM, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const LLAMA3_TEMPLATE = fs.readFileSync(path.join(ROOT, 'core/chat/templates/llava-llama3.jinja'), 'utf8');
const QWEN2VL_TEMPLATE = fs.readFileSync(path.join(ROOT, 'models/out/qwen2vl-tiny/chat_template.jinja'), 'utf8');

const llama3: ServedFolder = { root: 'released-synthesizer', generation: {}, chatTemplate: LLAMA3_TEMPLATE, bosToken: '<|begin_of_text|>', addBosToken: true };
const qwen2vl: ServedFolder = { root: 'qwen2vl', generation: {}, chatTemplate: QWEN2VL_TEMPLATE, addBosToken: false };

/** A ChatPrompt's messages as a server hands them to the template: image parts as {type: image}. */
const asTemplateMessages = (chat: ChatPrompt): TemplateMessage[] =>
  chat.messages.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'image' ? { type: 'image' as const } : { type: 'text' as const, text: p.text })) }));

// captions as datasets carry them: plain, with newlines and spaces at the ends, with template syntax
const CAPTIONS = ['A bowl of soup.', 'Micrograph of a lung section.\nStain: H&E. ', '  {{ not a variable }} {% raw %} <image> '];
const INPUTS = ['What dish is this?', 'Is there a fracture?\nAnswer yes or no.'];

interface Case {
  name: string;
  template: string;
  folder: ServedFolder;
  chat: ChatPrompt;
  /** the prompt the method requires, as the model's tokenizer reads it (with the BOS it adds) */
  want: string;
}

const cases: Case[] = [
  ...CAPTIONS.map((c, i) => ({ name: `released synthesizer, caption ${i}`, template: LLAMA3_TEMPLATE, folder: llama3, chat: synthesisChat(LLAMA3_SYNTH, c, LLAMA3_SYSTEM), want: `<|begin_of_text|>${synthesisPrompt(LLAMA3_SYNTH, c)}` })),
  ...CAPTIONS.map((c, i) => ({ name: `qwen2vl synthesizer, caption ${i}`, template: QWEN2VL_TEMPLATE, folder: qwen2vl, chat: synthesisChat(QWEN2VL_SYNTH, c), want: synthesisPrompt(QWEN2VL_SYNTH, c) })),
  ...INPUTS.map((q, i) => ({ name: `llava-llama3 evaluation, input ${i}`, template: LLAMA3_TEMPLATE, folder: llama3, chat: evalPrompt('llava-llama3', q).chat, want: `<|begin_of_text|>${evalPrompt('llava-llama3', q).prompt}` })),
  ...INPUTS.map((q, i) => ({ name: `qwen2vl evaluation, input ${i}`, template: QWEN2VL_TEMPLATE, folder: qwen2vl, chat: evalPrompt('qwen2vl', q).chat, want: evalPrompt('qwen2vl', q).prompt })),
];

const flags = (chat: ChatPrompt) => ({ addGenerationPrompt: chat.addGenerationPrompt, continueFinalMessage: chat.continueFinalMessage });

test.each(cases.map((c) => [c.name, c] as const))('%s: the stand-ins\' renderer writes the method\'s prompt', (_, c) => {
  const rendered = renderChat(c.folder, asTemplateMessages(c.chat), flags(c.chat));
  expect(withSpecialTokens(c.folder, rendered, c.chat.addSpecialTokens ?? false)).toBe(c.want);
});

// transformers' renderer over the same requests; the BOS a tokenizer adds is added here as the
// stand-in adds it (add_special_tokens with a tokenizer that adds a BOS)
const TRANSFORMERS = `
import json, sys
from transformers.utils.chat_template_utils import render_jinja_template
import transformers
out = []
for job in json.load(sys.stdin):
    rendered, _ = render_jinja_template(conversations=[job["messages"]], chat_template=job["template"],
        add_generation_prompt=job["add_generation_prompt"], continue_final_message=job["continue_final_message"])
    out.append(rendered[0])
print(json.dumps({"version": transformers.__version__, "out": out}))
`;

test('transformers\' apply_chat_template renderer writes the same prompts, byte for byte', async () => {
  const jobs = cases.map((c) => ({ template: c.template, messages: asTemplateMessages(c.chat), add_generation_prompt: c.chat.addGenerationPrompt, continue_final_message: c.chat.continueFinalMessage }));
  const child = exec(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', TRANSFORMERS], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify(jobs));
  const { out } = JSON.parse((await child).stdout) as { version: string; out: string[] };
  const got = cases.map((c, i) => ({ name: c.name, prompt: withSpecialTokens(c.folder, out[i], c.chat.addSpecialTokens ?? false) }));
  expect(got).toEqual(cases.map((c) => ({ name: c.name, prompt: c.want })));
}, 60_000);

test('the released synthesizer\'s prompt opens with two BOS only when the request asks the tokenizer for special tokens', () => {
  const chat = synthesisChat(LLAMA3_SYNTH, 'A bowl of soup.', LLAMA3_SYSTEM);
  const rendered = renderChat(llama3, asTemplateMessages(chat), flags(chat));
  expect(withSpecialTokens(llama3, rendered, true).startsWith('<|begin_of_text|><|begin_of_text|><|start_header_id|>system')).toBe(true);
  expect(withSpecialTokens(llama3, rendered, false).startsWith('<|begin_of_text|><|start_header_id|>system')).toBe(true); // vLLM's chat default: one BOS, not the method's prompt
  expect(chat.addSpecialTokens).toBe(true);
});
