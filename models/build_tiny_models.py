#!/usr/bin/env python3
"""Build two tiny random-weight models, offline, in the transformers.js ONNX layout.

    python models/build_tiny_models.py --out <dir>

writes
    <dir>/qwen2vl-tiny/  Qwen2-VL (text 128 wide, 2 layers; vision depth 2, embed 64)
                         onnx/vision_encoder.onnx, onnx/embed_tokens.onnx,
                         onnx/decoder_model_merged.onnx
    <dir>/qwen2-tiny/    text-only Qwen2 of the same text size, onnx/model.onnx
    <dir>/reference_generations.json  PyTorch greedy ids that the Node check compares against
    <dir>/reference_image.png         the image those ids were generated from

Each model folder is also a normal Hugging Face folder (config.json, model.safetensors,
tokenizer, generation_config.json), so PyTorch can load it too.  Nothing is downloaded:
the tokenizer is trained here on a built-in corpus and the weights are random (fixed seed).
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from tokenizers import Tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2VLForConditionalGeneration

# The tokenizer, the Qwen2-VL config and the HF folder fixes (init_model), and the ONNX export
# (graphs in the transformers.js layout) are the trainer's, shared with this build.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainer"))
from adamllm_trainer.init_model import make_hf_tokenizer, make_image_processor, random_vl, save_hf_folder, text_settings, train_tokenizer, vl_config  # noqa: E402
from adamllm_trainer.onnx_export import export_lm, export_vl  # noqa: E402

SEED = 0
VOCAB_SIZE = 2048  # including the 14 special tokens
CORPUS_FILE = Path(__file__).with_name("tiny_corpus.txt")  # a few KB of plain English
SUBJECTS = ["the cat", "a dog", "my friend", "the teacher", "our team", "the old man", "a bird",
            "the engineer", "the doctor", "a student", "the farmer", "the pilot"]
VERBS = ["sees", "paints", "carries", "finds", "describes", "builds", "reads", "watches",
         "opens", "cleans", "follows", "explains"]
OBJECTS = ["a blue box", "the red door", "three small stones", "a bright yellow kite",
           "the large window", "an empty bottle", "the wooden table", "a long letter",
           "the green field", "a white cloud", "the map of the city", "a broken clock"]
PLACES = ["in the kitchen", "near the river", "at the station", "under the bridge",
          "on the mountain", "behind the house", "inside the museum", "across the street"]


def seed_everything() -> None:
    """Fix every random source the build uses, so two builds give the same files."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)


def build_corpus() -> list[str]:
    """The built-in English corpus (models/tiny_corpus.txt) plus a grid of generated sentences:
    enough distinct words for the ~1,780 merges of a 2,048-token vocabulary."""
    lines = [line for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines() if line]
    for i, s in enumerate(SUBJECTS):
        for j, v in enumerate(VERBS):
            o, p = OBJECTS[(i + j) % len(OBJECTS)], PLACES[(i * 3 + j) % len(PLACES)]
            lines.append(f"{s.capitalize()} {v} {o} {p}.")
    return lines


def build_models(tok: Tokenizer) -> tuple[Qwen2VLForConditionalGeneration, Qwen2ForCausalLM]:
    """Random-weight Qwen2-VL and Qwen2 (text 128 wide, 2 layers), HF's own init under the fixed seed."""
    text = text_settings(tok)
    vl = random_vl(vl_config(tok, text), SEED)
    torch.manual_seed(SEED + 1)
    lm = Qwen2ForCausalLM(Qwen2Config(**text, rope_parameters={"rope_type": "default",
                                                               "rope_theta": 1000000.0},
                                      tie_word_embeddings=False)).eval()
    return vl, lm


# ----------------------------------------------------------------------------- config files

# ----------------------------------------------------------------------------- references/checks

def test_image(width: int = 56, height: int = 84) -> Image.Image:
    """A deterministic RGB pattern; models/check_transformersjs.mjs draws the same one with sharp.
    Its sides are multiples of 28, so neither PIL nor sharp resizes it (they resample differently)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 9 + y * 2) % 256, (y * 7) % 256, (x * y + 40) % 256], -1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def vl_inputs(vl, hf_tok, proc) -> dict:
    """Chat prompt with one image, expanded to t*h*w/4 <|image_pad|> tokens."""
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": "Describe this image."}]}]
    text = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    image = proc(images=[test_image()], return_tensors="pt")
    n_tokens = int(image["image_grid_thw"][0].prod()) // 4
    text = text.replace("<|image_pad|>", "<|image_pad|>" * n_tokens)
    ids = torch.tensor([hf_tok(text)["input_ids"]])
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                pixel_values=image["pixel_values"], image_grid_thw=image["image_grid_thw"],
                # transformers 5.x needs this for M-RoPE, else it silently uses text positions
                mm_token_type_ids=(ids == vl.config.image_token_id).int())


def greedy(model, inputs: dict) -> list[list[int]]:
    """PyTorch greedy generate(), 16 new tokens; returns only the new ids."""
    out = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    return out[:, inputs["input_ids"].shape[1]:].tolist()


def empty_past(session: ort.InferenceSession, batch: int) -> dict:
    """Zero-length cache tensors, as transformers.js feeds them on the first step."""
    return {i.name: np.zeros([batch, i.shape[1], 0, i.shape[3]], np.float32)
            for i in session.get_inputs() if i.name.startswith("past_key_values")}


def check_vl(vl, folder: Path, inputs: dict) -> dict:
    """First-step logits (and a second, cached step) of the ONNX graphs vs PyTorch, plus the
    vision encoder alone on three images of different grids."""
    sess = {n: ort.InferenceSession(str(folder / "onnx" / f"{n}.onnx"))
            for n in ("vision_encoder", "embed_tokens", "decoder_model_merged")}
    ids = inputs["input_ids"]
    feats = sess["vision_encoder"].run(None, {"pixel_values": inputs["pixel_values"].numpy(),
                                              "grid_thw": inputs["image_grid_thw"].numpy()})[0]
    emb = sess["embed_tokens"].run(None, {"input_ids": ids.numpy()})[0]
    emb[(ids == vl.config.image_token_id).numpy()] = feats
    pos, delta = vl.model.get_rope_index(ids, inputs["mm_token_type_ids"],
                                         image_grid_thw=inputs["image_grid_thw"])
    dec = sess["decoder_model_merged"]
    out = dec.run(None, {"inputs_embeds": emb, "attention_mask": inputs["attention_mask"].numpy(),
                         "position_ids": pos.numpy(), **empty_past(dec, 1)})
    with torch.no_grad():
        ref = vl(**inputs).logits.numpy()
    diffs = {"first-step logits": float(np.abs(out[0] - ref).max())}
    # Second step through the cache vs a full PyTorch forward over prompt + next token.
    nxt = torch.tensor([[int(out[0][0, -1].argmax())]])
    past = {n.name: v for n, v in zip(dec.get_inputs()[3:], out[1:])}
    step = dec.run(None, {"inputs_embeds": sess["embed_tokens"].run(None, {"input_ids": nxt.numpy()})[0],
                          "attention_mask": np.ones((1, ids.shape[1] + 1), np.int64),
                          "position_ids": (delta + ids.shape[1]).view(1, 1, 1).repeat(3, 1, 1).numpy(),
                          **past})[0]
    ids2 = torch.cat([ids, nxt], 1)
    with torch.no_grad():
        ref2 = vl(**{**inputs, "input_ids": ids2, "attention_mask": torch.ones_like(ids2),
                     "mm_token_type_ids": (ids2 == vl.config.image_token_id).int()}).logits
    diffs["cached second-step logits"] = float(np.abs(step[0, -1] - ref2[0, -1].numpy()).max())
    # The vision graph must also handle several images of different grids in one call.
    grids = torch.tensor([[1, 2, 4], [1, 6, 2], [1, 4, 4]])
    pixels = torch.randn(int(grids.prod(-1).sum()), 1176)
    feats = sess["vision_encoder"].run(None, {"pixel_values": pixels.numpy(), "grid_thw": grids.numpy()})[0]
    with torch.no_grad():
        ref_feats = vl.model.visual(pixels, grid_thw=grids).pooler_output.numpy()
    diffs["vision features, 3 images"] = float(np.abs(feats - ref_feats).max())
    return diffs


def check_lm(lm, folder: Path, hf_tok, prompts: list[str]) -> dict:
    """First-step logits of onnx/model.onnx vs PyTorch, batch 1 and a left-padded batch
    (valid positions only)."""
    return {f"first-step logits, batch {n}": lm_logits_diff(lm, folder, hf_tok, prompts[:n])
            for n in (1, len(prompts))}


def lm_logits_diff(lm, folder: Path, hf_tok, prompts: list[str]) -> float:
    """Max |onnx - torch| over the non-padding positions of one (left-padded) batch."""
    sess = ort.InferenceSession(str(folder / "onnx" / "model.onnx"))
    enc = hf_tok(prompts, padding=True, return_tensors="pt")
    mask = enc["attention_mask"]
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = sess.run(None, {"input_ids": enc["input_ids"].numpy(), "attention_mask": mask.numpy(),
                          "position_ids": pos.numpy(), **empty_past(sess, len(prompts))})[0]
    with torch.no_grad():
        ref = lm(**enc, position_ids=pos).logits.numpy()
    valid = mask.numpy().astype(bool)
    return float(np.abs(out[valid] - ref[valid]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    out = parser.parse_args().out.resolve()
    start = time.time()
    seed_everything()

    tok = train_tokenizer(build_corpus(), VOCAB_SIZE)
    hf_tok = make_hf_tokenizer(tok)
    vl, lm = build_models(tok)
    proc = make_image_processor()
    vl_dir, lm_dir = out / "qwen2vl-tiny", out / "qwen2-tiny"
    for folder, model in ((vl_dir, vl), (lm_dir, lm)):
        (folder / "onnx").mkdir(parents=True, exist_ok=True)
        save_hf_folder(model, hf_tok, folder, proc if model is vl else None)
    with torch.no_grad():
        export_vl(vl, vl_dir)
        export_lm(lm, lm_dir)

    inputs = vl_inputs(vl, hf_tok, proc)
    lm_prompts = ["Once upon a time, a small robot", "The weather today is"]
    lm_enc = hf_tok(lm_prompts, padding=True, return_tensors="pt")
    reference = {
        "qwen2vl-tiny": {"image": {"width": 56, "height": 84}, "text": "Describe this image.",
                         "prompt_ids": inputs["input_ids"][0].tolist(),
                         "image_grid_thw": inputs["image_grid_thw"].tolist(),
                         "generated_ids": greedy(vl, inputs)},
        "qwen2-tiny": {"prompts": lm_prompts,
                       "prompt_ids": [hf_tok(p)["input_ids"] for p in lm_prompts],
                       "generated_ids": [greedy(lm, hf_tok(p, return_tensors="pt"))[0]
                                         for p in lm_prompts],
                       "batch_generated_ids": greedy(lm, lm_enc)},
    }
    (out / "reference_generations.json").write_text(json.dumps(reference))
    # The reference image itself, so Node checks read the same pixels instead of redrawing them.
    test_image().save(out / "reference_image.png")

    checks = {"qwen2vl-tiny": check_vl(vl, vl_dir, inputs),
              "qwen2-tiny": check_lm(lm, lm_dir, hf_tok, lm_prompts)}
    for name, diffs in checks.items():
        for what, diff in diffs.items():
            print(f"{name}: max |onnxruntime - pytorch| {what} = {diff:.2e}")
            if diff >= 1e-3:
                raise SystemExit(f"{name}: ONNX {what} differ from PyTorch by {diff}")
    params = {n: sum(p.numel() for p in m.parameters()) for n, m in (("qwen2vl-tiny", vl), ("qwen2-tiny", lm))}
    print(f"vocab {tok.get_vocab_size()}, params {params}, built in {time.time() - start:.1f} s -> {out}")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The exporter warns about torchvision ops it cannot register and a pytree deprecation;
    # neither concerns these graphs.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
    main()
