"""The trainer's one JSON config: every setting with its default, checked before any work."""

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
    onnx: bool = True
    # greedy outputs of ONNX and PyTorch compared on this many training prompts
    validate_prompts: int = 3
    validate_new_tokens: int = 16


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
    image_max_pixels: int = 512 * 512
    image_min_pixels: int = 32 * 32
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32
    save_steps: int = 500
    save_total_limit: int = 1
    log_every: int = 1
    export: ExportSettings = field(default_factory=ExportSettings)

    @property
    def global_batch(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps

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
    for name in ("per_device_batch_size", "gradient_accumulation_steps", "max_length", "save_steps", "save_total_limit", "log_every"):
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
