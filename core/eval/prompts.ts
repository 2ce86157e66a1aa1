// Evaluation prompts per model family (docs/method.md §10.2): the benchmark row's `input`, verbatim,
// wrapped as each family's inference code wraps it. Each prompt comes as the raw string (what
// the onnx backend tokenizes, and what the prediction's prompt hash covers) and as chat
// messages for OpenAI-compatible servers, which apply the model's own chat template.
import { renderQwen2VL, type ChatPrompt } from '../chat/qwen2vl';
import { LLAMA3_SYSTEM } from '../synth/contract';

export const PROMPT_FAMILIES = ['qwen2vl', 'llava-llama3', 'mllama'] as const;
export type PromptFamily = (typeof PROMPT_FAMILIES)[number];

export interface EvalPrompt {
  family: PromptFamily;
  /** bumped when a family's wrapping changes, so cached predictions are not reused across it */
  version: string;
  prompt: string;
  chat: ChatPrompt;
}

const L3 = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;

export function evalPrompt(family: PromptFamily, input: string): EvalPrompt {
  switch (family) {
    case 'qwen2vl': {
      // default system turn, image then input in one user turn, open assistant turn
      const chat: ChatPrompt = { messages: [{ role: 'user', content: [{ type: 'image', index: 0 }, { type: 'text', text: input }] }], addGenerationPrompt: true, continueFinalMessage: false, addSpecialTokens: false };
      return { family, version: 'qwen2vl-eval-v1', prompt: renderQwen2VL(chat), chat };
    }
    case 'llava-llama3': {
      // The engine adds a second BOS when it tokenizes this string (two BOS, as the paper ran it);
      // a chat server renders it with the project's template (core/chat/templates/llava-llama3.jinja).
      const prompt = `<|begin_of_text|>${L3('system')}${LLAMA3_SYSTEM}<|eot_id|>${L3('user')}<|reserved_special_token_4|>\n${input}<|eot_id|>${L3('assistant')}`;
      const chat: ChatPrompt = {
        messages: [
          { role: 'system', content: LLAMA3_SYSTEM },
          { role: 'user', content: [{ type: 'image', index: 0 }, { type: 'text', text: `\n${input}` }] },
        ],
        addGenerationPrompt: true,
        continueFinalMessage: false,
        addSpecialTokens: true,
      };
      return { family, version: 'llava-llama3-eval-v1', prompt, chat };
    }
    case 'mllama': {
      // With an image, the template emits no system block and no newline after the image token.
      const prompt = `<|begin_of_text|>${L3('user')}<|image|>${input}<|eot_id|>${L3('assistant')}`;
      const chat: ChatPrompt = { messages: [{ role: 'user', content: [{ type: 'image', index: 0 }, { type: 'text', text: input }] }], addGenerationPrompt: true, continueFinalMessage: false };
      return { family, version: 'mllama-eval-v1', prompt, chat };
    }
  }
}
