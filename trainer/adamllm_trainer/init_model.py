"""A new Qwen2-VL from nothing: a byte-level BPE trained on a corpus, and random weights.

    python -m adamllm_trainer init-model --corpus FILE [FILE ...] --out DIR
        [--vocab-size 2048] [--hidden 128] [--heads 4] [--layers 2] [--vision-depth 2] [--seed 0]

writes a Hugging Face folder (config, safetensors, tokenizer with Qwen2-VL's chat template,
generation and preprocessor configs) that the trainer trains from and exports like any other
base model. The CPU demo's world starts its general model here (its own small vocabulary makes a
tiny model learn in minutes); models/build_tiny_models.py builds the test models with the same
functions. Nothing is downloaded, and the same arguments give the same files.
"""

import json
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from .hf_config import fix_config

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
# The image sizes the processor accepts by default (the trainer and the evaluation set their own).
MIN_PIXELS, MAX_PIXELS = 56 * 56, 448 * 448


def train_tokenizer(lines: list, vocab_size: int) -> Tokenizer:
    """A byte-level BPE with Qwen2's normaliser/pre-tokeniser/decoder, trained on `lines`; the
    special tokens come last (as in real Qwen2 vocabularies), within `vocab_size`."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(SPECIAL_TOKENS), min_frequency=1,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
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


def text_settings(tok: Tokenizer, hidden: int = 128, layers: int = 2, heads: int = 4) -> dict:
    """Text-model sizes: `hidden` wide (`heads` heads of hidden/heads, at most 2 KV heads), MLP
    twice as wide. vLLM's CPU attention takes a head of 32, 64, 80, ... but not 16: a 64-wide
    model for it has 2 heads."""
    return dict(vocab_size=tok.get_vocab_size(), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=min(2, heads),
                head_dim=hidden // heads, max_position_embeddings=4096, rms_norm_eps=1e-6,
                bos_token_id=tok.token_to_id("<|endoftext|>"),
                eos_token_id=tok.token_to_id("<|im_end|>"),
                pad_token_id=tok.token_to_id("<|endoftext|>"))


def vl_config(tok: Tokenizer, text: dict, vision_depth: int = 2) -> Qwen2VLConfig:
    """A Qwen2-VL config around `text`: vision tower 64 wide, 14 px patches merged 2x2."""
    # M-RoPE sections must add up to head_dim / 2 (the 7B default [16, 24, 24] needs 128).
    half = text["head_dim"] // 2
    section = [half // 4, (half - half // 4) // 2, half - half // 4 - (half - half // 4) // 2]
    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": section}
    return Qwen2VLConfig(
        text_config={**text, "rope_parameters": rope},
        vision_config=dict(depth=vision_depth, embed_dim=64, num_heads=4, mlp_ratio=4,
                           hidden_size=text["hidden_size"], patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2),
        image_token_id=tok.token_to_id("<|image_pad|>"),
        video_token_id=tok.token_to_id("<|video_pad|>"),
        vision_start_token_id=tok.token_to_id("<|vision_start|>"),
        vision_end_token_id=tok.token_to_id("<|vision_end|>"),
        tie_word_embeddings=False)


def random_vl(config: Qwen2VLConfig, seed: int) -> Qwen2VLForConditionalGeneration:
    """Random weights by HF's own init under a fixed seed."""
    torch.manual_seed(seed)
    return Qwen2VLForConditionalGeneration(config).eval()


def make_image_processor() -> Qwen2VLImageProcessorPil:
    """The PIL-backed Qwen2-VL image processor (AutoProcessor would import torchvision)."""
    return Qwen2VLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


def processor_config(proc: Qwen2VLImageProcessorPil) -> dict:
    """preprocessor_config.json in the form both transformers.js and transformers read."""
    return dict(processor_class="Qwen2VLProcessor", image_processor_type="Qwen2VLImageProcessor",
                do_resize=True, resample=3, do_rescale=True, rescale_factor=1 / 255,
                do_normalize=True, image_mean=list(proc.image_mean), image_std=list(proc.image_std),
                do_convert_rgb=True, patch_size=14, temporal_patch_size=2, merge_size=2,
                min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
                size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS})


def save_hf_folder(model, hf_tok, folder: Path, processor=None) -> None:
    """HF save, then the fixes transformers.js needs: text settings at the top of config.json
    (transformers 5.x nests them under text_config; hf_config.py, which also writes the legacy
    rope_scaling/torch_dtype fields vLLM reads), a generation config that stops on
    <|im_end|>/<|endoftext|>, and a preprocessor_config.json it understands."""
    model.generation_config.update(do_sample=False, eos_token_id=[
        hf_tok.convert_tokens_to_ids("<|im_end|>"), hf_tok.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=hf_tok.pad_token_id, bos_token_id=None)
    model.save_pretrained(folder)
    save_tokenizer(hf_tok, folder)
    fix_config(folder)
    if processor is not None:
        (folder / "preprocessor_config.json").write_text(json.dumps(processor_config(processor), indent=2))


def init_model(corpus: list, out: Path, vocab_size: int = 2048, hidden: int = 128, layers: int = 2,
               vision_depth: int = 2, seed: int = 0, heads: int = 4) -> dict:
    """Tokenizer trained on the corpus files' non-empty lines, random Qwen2-VL, saved to `out`."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    lines = [line for f in corpus for line in Path(f).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError("the corpus is empty: the tokenizer needs text to learn from")
    tok = train_tokenizer(lines, vocab_size)
    hf_tok = make_hf_tokenizer(tok)
    model = random_vl(vl_config(tok, text_settings(tok, hidden, layers, heads), vision_depth), seed)
    out.mkdir(parents=True, exist_ok=True)
    save_hf_folder(model, hf_tok, out, make_image_processor())
    return {"out": str(out), "vocab": tok.get_vocab_size(), "params": sum(p.numel() for p in model.parameters()), "lines": len(lines)}
