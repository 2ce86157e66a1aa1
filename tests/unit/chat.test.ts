import { renderQwen2VL, synthesisChat } from '../../core/chat/qwen2vl';
import { QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';

test('the synthesizer prompt as chat renders to exactly the contract prompt', () => {
  for (const caption of ['Soup.', ' A bowl, hot. \n']) expect(renderQwen2VL(synthesisChat(QWEN2VL_SYNTH, caption))).toBe(synthesisPrompt(QWEN2VL_SYNTH, caption));
});

test('an evaluation turn with the generation prompt gives the §10.2 Qwen2-VL prompt', () => {
  const rendered = renderQwen2VL({ messages: [{ role: 'user', content: [{ type: 'image', index: 0 }, { type: 'text', text: 'What organ?' }] }], addGenerationPrompt: true, continueFinalMessage: false });
  expect(rendered).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What organ?<|im_end|>\n<|im_start|>assistant\n');
});
