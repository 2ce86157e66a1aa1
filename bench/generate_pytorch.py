"""Baseline for `npm run bench:generate`: PyTorch transformers generate() on the tiny models,
greedy, exactly NEW tokens per sequence, batch 1 and 8 for the text LM, batch 1 for Qwen2-VL.
Prints JSON (tokens/s). Run with the models' venv: .venv-models/bin/python."""
import json
import sys
import time

import torch
from PIL import Image
from transformers import AutoTokenizer, Qwen2ForCausalLM, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

NEW = int(sys.argv[2]) if len(sys.argv) > 2 else 64
REPEAT = 3


def timed(fn):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(REPEAT):
        fn()
    return (time.perf_counter() - start) / REPEAT


def main(out: str) -> None:
    torch.set_num_threads(torch.get_num_threads())
    tok = AutoTokenizer.from_pretrained(f"{out}/qwen2-tiny")
    tok.padding_side = "left"
    lm = Qwen2ForCausalLM.from_pretrained(f"{out}/qwen2-tiny").eval()
    prompts = [f"Prompt number {i}: the weather today is" for i in range(8)]
    result = {}
    for batch in (1, 8):
        enc = tok(prompts[:batch], return_tensors="pt", padding=True)
        with torch.no_grad():
            secs = timed(lambda enc=enc: lm.generate(**enc, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False))
        result[f"text_batch{batch}"] = batch * NEW / secs

    vl_dir = f"{out}/qwen2vl-tiny"
    vl = Qwen2VLForConditionalGeneration.from_pretrained(vl_dir).eval()
    vtok = AutoTokenizer.from_pretrained(vl_dir)
    proc = Qwen2VLImageProcessorPil.from_pretrained(vl_dir)
    image = Image.open(f"{out}/reference_image.png").convert("RGB")
    pix = proc(images=[image], return_tensors="pt")
    n = int(pix["image_grid_thw"][0].prod()) // 4
    text = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>"
            + "<|image_pad|>" * n + "<|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n")
    enc = vtok(text, return_tensors="pt")
    with torch.no_grad():
        secs = timed(lambda: vl.generate(**enc, pixel_values=pix["pixel_values"], image_grid_thw=pix["image_grid_thw"],
                                         max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False))
    result["vision_batch1"] = NEW / secs
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "tokensPerSecond": result}))


if __name__ == "__main__":
    main(sys.argv[1])
