// A structured chat prompt and its Qwen2-VL rendering. Chat APIs (vLLM, SGLang, `adamllm
// serve`) take messages, not raw strings; the prompts the method needs are expressible as
// messages plus two flags (no generation prompt; continue the final, empty user turn), and this
// renderer turns them back into exactly the raw prompts of core/synth and the evaluation.

export type ChatPart = { type: 'text'; text: string } | { type: 'image'; index: number };

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatPart[];
}

export interface ChatPrompt {
  messages: ChatTurn[];
  /** append an open assistant header (the usual chat completion) */
  addGenerationPrompt: boolean;
  /** leave the last message open (no end-of-turn): the server continues it */
  continueFinalMessage: boolean;
  /**
   * Let the server's tokenizer add its special tokens (Llama-3: a BOS) before the rendered
   * prompt. vLLM's chat endpoint adds none unless asked; the Llama-3 prompts need two BOS (the
   * template's and the tokenizer's). Absent: the server's default.
   */
  addSpecialTokens?: boolean;
}

const DEFAULT_SYSTEM = 'You are a helpful assistant.';
const IMAGE_SLOT = '<|vision_start|><|image_pad|><|vision_end|>';

function content(c: ChatTurn['content']): string {
  return typeof c === 'string' ? c : c.map((p) => (p.type === 'text' ? p.text : IMAGE_SLOT)).join('');
}

/** Qwen2-VL's chat format: a default system turn unless one is given, `<|im_start|>role\n…<|im_end|>\n`. */
export function renderQwen2VL(chat: ChatPrompt): string {
  const turns = chat.messages[0]?.role === 'system' ? chat.messages : [{ role: 'system' as const, content: DEFAULT_SYSTEM }, ...chat.messages];
  const last = turns.length - 1;
  let out = turns.map((t, i) => `<|im_start|>${t.role}\n${content(t.content)}${i === last && chat.continueFinalMessage ? '' : '<|im_end|>\n'}`).join('');
  if (chat.addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

/**
 * The synthesizer's prompt as chat (docs/method.md §4.2, §5.1): system, the caption turn, and the
 * caption as an assistant message the server continues, carrying the contract's text after the
 * caption (turn end and the open user header). Chat templates cannot end on an open user turn,
 * and the way an empty final user message is continued differs between transformers versions
 * (older ones close the turn); continuing the assistant message renders the same string in all
 * of them, with the stock Qwen2-VL template or the project's Llama-3 template.
 */
export function synthesisChat(contract: { afterCaption: string; tokenizerAddsBos: boolean }, caption: string, system = DEFAULT_SYSTEM): ChatPrompt {
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: [{ type: 'image', index: 0 }, { type: 'text', text: '\nDescribe the image.' }] },
      { role: 'assistant', content: `${caption}${contract.afterCaption}` },
    ],
    addGenerationPrompt: false,
    continueFinalMessage: true,
    addSpecialTokens: contract.tokenizerAddsBos,
  };
}
