"""The trainer's one JSON config: every setting with its default, checked before any work."""

import importlib.util
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .events import TrainerError


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # language-model projections only: the vision tower stays frozen (Qwen2-VL recipe)
    target_modules: list = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


@dataclass
class ExportSettings:
    hf: bool = True
    # the transformers.js layout for the onnx backend; the train stage asks for it only when
    # something will run the model there (a vLLM user never needs it)
    onnx: bool = False
    # greedy outputs of ONNX and PyTorch compared on this many training prompts
    validate_prompts: int = 3
    validate_new_tokens: int = 16
    # the HF folder's weight dtype: "base" keeps the base model's (bf16 for Qwen2-VL), so the
    # export is the size of the model it came from and vLLM serves it as is
    dtype: str = "base"  # base | bfloat16 | float16 | float32
    # safetensors shards of at most this size (transformers' format: "5GB", "500MB")
    max_shard_size: str = "5GB"


@dataclass
class TrainConfig:
    base_model: str
    train_file: str
    output_dir: str
    cache_dir: str = ""
    dataset_dir: str = ""  # relative image paths resolve here (LLaMA-Factory's dataset_dir)
    finetuning: str = "full"  # full | lora
    lora: LoraSettings = field(default_factory=LoraSettings)
    freeze_vision_tower: bool = True  # also freezes visual.merger, as LLaMA-Factory does for Qwen2-VL
    learning_rate: float = 1e-5
    epochs: float = 1.0
    max_steps: int = 0  # > 0 caps the optimizer steps (smoke runs, benchmarks)
    per_device_batch_size: int = 8
    gradient_accumulation_steps: int = 2
    warmup_ratio: float = 0.1
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = 6144
    # chat: the post-training sequence (assistant turns carry the loss). synthesizer: training a
    # visual instruction synthesizer (method.md 5.3): the caption turn is context, and every token
    # after it (user headers, hints, questions, answers, terminators) plus the final
    # <|endoftext|> carries the loss, so the model writes tasks and then stops. completion: raw
    # text rows {"prompt", "completion"} (the consistency judge, method.md 6): no chat template,
    # the prompt is context, the completion and the tokenizer's eos after it carry the loss
    sequence: str = "chat"  # chat | synthesizer | completion
    image_max_pixels: int = 512 * 512
    image_min_pixels: int = 32 * 32
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda
    # auto: bf16 autocast on GPU, fp32 on CPU. bf16 keeps fp32 master weights and fp32 AdamW
    # state for every trainable tensor (a 1e-5 update is below half a bf16 step of most
    # weights, so pure-bf16 weights would round it away); frozen parts are stored in bf16.
    precision: str = "auto"  # auto | bf16 | fp32
    # recompute each decoder layer's activations in backward (non-reentrant): 8 x 6k tokens of
    # a 2B model keep ~28 layers x 48k x 1536 x ~34 bytes ~ 70 GB of activations without it
    gradient_checkpointing: bool = True
    attn_implementation: str = "sdpa"  # sdpa | flash_attention_2 (must be installed) | eager
    # batches of similar length (deterministic from seed and epoch) waste less on padding
    group_by_length: bool = True
    # several processes: torchrun sets WORLD_SIZE; ddp replicates the model, fsdp shards it
    # (full shard; trainable parameters fp32) for models whose weights + AdamW state do not fit
    strategy: str = "ddp"  # ddp | fsdp
    # images are decoded and preprocessed on the fly in DataLoader worker processes
    dataloader_workers: int = 2
    pin_memory: bool = True  # only used on GPU
    prefetch_factor: int = 2
    # tokenization: processes (0 = one per CPU, at most 16) and examples per cache shard
    tokenize_workers: int = 0
    tokenize_shard_size: int = 1000
    save_steps: int = 500
    save_total_limit: int = 1
    log_every: int = 1
    export: ExportSettings = field(default_factory=ExportSettings)

    def global_batch(self, world_size: int = 1) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps * world_size

    def to_dict(self) -> dict:
        return asdict(self)


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise TrainerError("config", f"{where}: must be an object")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise TrainerError("config", f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    kwargs = {}
    for name, value in data.items():
        if name == "lora":
            value = _build(LoraSettings, value, f"{where}.lora")
        elif name == "export":
            value = _build(ExportSettings, value, f"{where}.export")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise TrainerError("config", f"{where}: {e}") from e


def load_config(path: str) -> TrainConfig:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise TrainerError("config", f"cannot read config {path}: {e}") from e
    cfg = _build(TrainConfig, data, "config")
    check(cfg)
    return cfg


def check(cfg: TrainConfig) -> None:
    problems = []
    if cfg.finetuning not in ("full", "lora"):
        problems.append(f"finetuning: {cfg.finetuning!r} is not full or lora")
    if cfg.device not in ("auto", "cpu", "cuda"):
        problems.append(f"device: {cfg.device!r} is not auto, cpu or cuda")
    if cfg.precision not in ("auto", "bf16", "fp32"):
        problems.append(f"precision: {cfg.precision!r} is not auto, bf16 or fp32")
    if cfg.attn_implementation not in ("sdpa", "flash_attention_2", "eager"):
        problems.append(f"attn_implementation: {cfg.attn_implementation!r} is not sdpa, flash_attention_2 or eager")
    elif cfg.attn_implementation == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        problems.append("attn_implementation: flash_attention_2 needs the flash-attn package, which is not installed in this Python (pip install flash-attn, on a GPU machine)")
    if cfg.sequence not in ("chat", "synthesizer", "completion"):
        problems.append(f"sequence: {cfg.sequence!r} is not chat, synthesizer or completion")
    if cfg.strategy not in ("ddp", "fsdp"):
        problems.append(f"strategy: {cfg.strategy!r} is not ddp or fsdp")
    if cfg.export.dtype not in ("base", "bfloat16", "float16", "float32"):
        problems.append(f"export.dtype: {cfg.export.dtype!r} is not base, bfloat16, float16 or float32")
    if not isinstance(cfg.tokenize_workers, int) or cfg.tokenize_workers < 0:
        problems.append("tokenize_workers: must be 0 (one per CPU) or a positive integer")
    if not isinstance(cfg.dataloader_workers, int) or cfg.dataloader_workers < 0:
        problems.append("dataloader_workers: must be 0 (load in the training process) or a positive integer")
    for name in ("per_device_batch_size", "gradient_accumulation_steps", "max_length", "save_steps", "save_total_limit", "log_every", "prefetch_factor", "tokenize_shard_size"):
        if not isinstance(getattr(cfg, name), int) or getattr(cfg, name) < 1:
            problems.append(f"{name}: must be a positive integer")
    if not (cfg.learning_rate > 0):
        problems.append("learning_rate: must be positive")
    if not (cfg.epochs > 0):
        problems.append("epochs: must be positive")
    if not (0 <= cfg.warmup_ratio < 1):
        problems.append("warmup_ratio: must be in [0, 1)")
    if cfg.image_min_pixels > cfg.image_max_pixels:
        problems.append("image_min_pixels: must not exceed image_max_pixels")
    if not Path(cfg.base_model, "config.json").is_file():
        problems.append(f"base_model: {cfg.base_model} is not a Hugging Face model folder (no config.json)")
    if not Path(cfg.train_file).is_file():
        problems.append(f"train_file: {cfg.train_file} not found")
    if problems:
        raise TrainerError("config", "; ".join(problems))
