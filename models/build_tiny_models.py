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
The recipe follows /work/shared/docs/environment.md ("Proven path: a tiny Qwen2-VL").
"""

import argparse
import sys
import json
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, Qwen2VLConfig,
                          Qwen2VLForConditionalGeneration)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

# The ONNX export (graphs in the transformers.js layout) is the trainer's, shared with this build.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainer"))
from adamllm_trainer.onnx_export import export_lm, export_vl, lift_text_config  # noqa: E402

SEED = 0
VOCAB_SIZE = 2048  # including the 14 special tokens
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
# Qwen2's own pre-tokenizer split, so the tokenizer behaves like a real Qwen2 one.
QWEN2_SPLIT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
               r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
# The Qwen2-VL chat template (messages with string content or lists of image/video/text parts).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
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


def train_tokenizer() -> Tokenizer:
    """Train a byte-level BPE with Qwen2's normaliser/pre-tokeniser/decoder; the special
    tokens come last (as in real Qwen2 vocabularies)."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE - len(SPECIAL_TOKENS), min_frequency=1,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(build_corpus(), trainer=trainer)
    tok.add_special_tokens(SPECIAL_TOKENS)
    return tok


def make_hf_tokenizer(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """Wrap the trained tokenizer the way Qwen2-VL-Instruct configures it: eos <|im_end|>,
    pad <|endoftext|>, no bos; left padding for batched generation."""
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", padding_side="left",
                                   model_max_length=32768, chat_template=CHAT_TEMPLATE)


def save_tokenizer(hf_tok: PreTrainedTokenizerFast, folder: Path) -> None:
    """Save tokenizer.json + tokenizer_config.json.  transformers 5.x writes the chat template
    to chat_template.jinja only, but transformers.js reads it from tokenizer_config.json."""
    hf_tok.save_pretrained(folder)
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update(tokenizer_class="Qwen2Tokenizer", chat_template=CHAT_TEMPLATE)
    cfg_path.write_text(json.dumps(cfg, indent=2))


def text_settings(tok: Tokenizer) -> dict:
    """Text-model sizes shared by both models (hidden 128, 2 layers, 4 heads, 2 KV heads)."""
    return dict(vocab_size=tok.get_vocab_size(), hidden_size=128, intermediate_size=256,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                max_position_embeddings=4096, rms_norm_eps=1e-6,
                bos_token_id=tok.token_to_id("<|endoftext|>"),
                eos_token_id=tok.token_to_id("<|im_end|>"),
                pad_token_id=tok.token_to_id("<|endoftext|>"))


def build_models(tok: Tokenizer) -> tuple[Qwen2VLForConditionalGeneration, Qwen2ForCausalLM]:
    """Random-weight Qwen2-VL and Qwen2, initialised by HF's own init under the fixed seed."""
    text = text_settings(tok)
    # M-RoPE sections must add up to head_dim / 2 = 16 (the 7B default [16, 24, 24] needs 128).
    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 6, 6]}
    vl_cfg = Qwen2VLConfig(
        text_config={**text, "rope_parameters": rope},
        vision_config=dict(depth=2, embed_dim=64, num_heads=4, mlp_ratio=4, hidden_size=128,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=tok.token_to_id("<|image_pad|>"),
        video_token_id=tok.token_to_id("<|video_pad|>"),
        vision_start_token_id=tok.token_to_id("<|vision_start|>"),
        vision_end_token_id=tok.token_to_id("<|vision_end|>"),
        tie_word_embeddings=False)
    torch.manual_seed(SEED)
    vl = Qwen2VLForConditionalGeneration(vl_cfg).eval()
    torch.manual_seed(SEED + 1)
    lm = Qwen2ForCausalLM(Qwen2Config(**text, rope_parameters={"rope_type": "default",
                                                               "rope_theta": 1000000.0},
                                      tie_word_embeddings=False)).eval()
    return vl, lm


# ----------------------------------------------------------------------------- config files

def save_hf_folder(model, hf_tok, folder: Path, processor=None) -> None:
    """HF save, then the fixes transformers.js needs: text settings at the top of config.json
    (transformers 5.x nests them under text_config), a generation config that stops on
    <|im_end|>/<|endoftext|>, and a preprocessor_config.json it understands."""
    model.generation_config.update(do_sample=False, eos_token_id=[
        hf_tok.convert_tokens_to_ids("<|im_end|>"), hf_tok.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=hf_tok.pad_token_id, bos_token_id=None)
    model.save_pretrained(folder)
    save_tokenizer(hf_tok, folder)
    lift_text_config(folder)
    if processor is not None:
        (folder / "preprocessor_config.json").write_text(json.dumps(processor_config(processor), indent=2))


def make_image_processor() -> Qwen2VLImageProcessorPil:
    """The PIL-backed Qwen2-VL image processor (AutoProcessor would import torchvision)."""
    return Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=448 * 448)


def processor_config(proc: Qwen2VLImageProcessorPil) -> dict:
    """preprocessor_config.json in the form both transformers.js and transformers read."""
    return dict(processor_class="Qwen2VLProcessor", image_processor_type="Qwen2VLImageProcessor",
                do_resize=True, resample=3, do_rescale=True, rescale_factor=1 / 255,
                do_normalize=True, image_mean=list(proc.image_mean), image_std=list(proc.image_std),
                do_convert_rgb=True, patch_size=14, temporal_patch_size=2, merge_size=2,
                min_pixels=56 * 56, max_pixels=448 * 448,
                size={"shortest_edge": 56 * 56, "longest_edge": 448 * 448})


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

    tok = train_tokenizer()
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
