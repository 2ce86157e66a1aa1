// Evaluation inputs per model family (docs/method.md §10.2): the prompt strings and Qwen2-VL's
// image sizing. Expected sizes are worked out from the §10.2 formula (checked with CPython).
import { evalPrompt } from '../../core/eval/prompts';
import { ImageSizeError, roundHalfEven, smartResize } from '../../core/eval/smart-resize';

test('Qwen2-VL: default system, image then the input verbatim, open assistant turn', () => {
  const p = evalPrompt('qwen2vl', 'Is there a fracture?\n');
  expect(p.prompt).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Is there a fracture?\n<|im_end|>\n<|im_start|>assistant\n');
  expect(p.chat.addGenerationPrompt).toBe(true);
});

test('LLaVA (Llama-3): the synthesizer system block, image slot, newline, input; one BOS in the text (the engine adds the second)', () => {
  const p = evalPrompt('llava-llama3', 'What dish?');
  expect(p.prompt).toBe(
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\n<|reserved_special_token_4|>\nWhat dish?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  expect(p.chat.messages[1].content).toEqual([{ type: 'image', index: 0 }, { type: 'text', text: '\nWhat dish?' }]);
});

test('mllama: no system block and no newline after the image token', () => {
  expect(evalPrompt('mllama', 'What dish?').prompt).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>What dish?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
});

test('Python round: halves to the even neighbour', () => {
  expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
});

test('smart_resize: multiples of 28 within the pixel bounds', () => {
  expect(smartResize(448, 448)).toEqual({ height: 448, width: 448 });
  // 70/28 = 2.5 rounds to 2 (half to even; Math.round would give 84); 1000/28 = 35.7 → 36
  expect(smartResize(70, 1000)).toEqual({ height: 56, width: 1008 });
  // 112·112 < 50,176: β = sqrt(50176/10000) = 2.24, ceil(100·2.24/28)·28 = 224
  expect(smartResize(100, 100)).toEqual({ height: 224, width: 224 });
  // 1988·2996 > 1,003,520: β = sqrt(6e6/1003520) ≈ 2.4452, floor(2000/β/28)·28 = 812, floor(3000/β/28)·28 = 1204
  expect(smartResize(2000, 3000)).toEqual({ height: 812, width: 1204 });
  // 64×48 → 56×56 = 3136 < min: β = sqrt(50176/3072) ≈ 4.0415, ceil(64β/28)·28 = 280, ceil(48β/28)·28 = 196
  expect(smartResize(64, 48)).toEqual({ height: 280, width: 196 });
  // a 1-pixel side: round(1/28) = 0, floored at 28 before the area check
  expect(smartResize(1, 150)).toEqual({ height: 28, width: 2744 });
});

test('smart_resize: an aspect ratio above 200 is an error naming the size', () => {
  expect(() => smartResize(28, 28 * 201)).toThrow(new ImageSizeError('aspect ratio of 5628x28 exceeds 200'));
  expect(smartResize(28, 28 * 200)).toEqual({ height: 28, width: 5600 });
});

test('a benchmark image for Qwen2-VL: RGB PNG at the smart_resize size; other families keep the size', async () => {
  const { default: sharp } = await import('sharp');
  const { prepareEvalImage } = await import('../../activities/evaluate/eval-image');
  const rgba = await sharp({ create: { width: 100, height: 60, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } }).png().toBuffer();
  const o = { minPixels: 50176, maxPixels: 1003520 };
  const q = await sharp(await prepareEvalImage(rgba, { family: 'qwen2vl', ...o })).metadata();
  expect({ w: q.width, h: q.height, channels: q.channels, format: q.format }).toEqual({ ...sizeOf(smartResize(60, 100)), channels: 3, format: 'png' });
  const l = await sharp(await prepareEvalImage(rgba, { family: 'llava-llama3', ...o })).metadata();
  expect({ w: l.width, h: l.height, channels: l.channels }).toEqual({ w: 100, h: 60, channels: 3 });
  await expect(prepareEvalImage(new Uint8Array([1, 2, 3]), { family: 'qwen2vl', ...o })).rejects.toThrow();
});

const sizeOf = (s: { height: number; width: number }) => ({ w: s.width, h: s.height });
