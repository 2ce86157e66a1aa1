"""The trainer's one JSON config: every setting with its default, checked before any work."""

import importlib.util
import json
import textwrap
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from .events import TrainerError


def setting(default=MISSING, *, help: str, factory=MISSING):
    """A config field with its help text (`python -m adamllm_trainer config` prints them)."""
    return field(default=default, default_factory=factory, metadata={"help": help})


def require_help(obj) -> None:
    """Every setting says what it does: a field added without help fails the first config made."""
    missing = [f.name for f in fields(obj) if not str(f.metadata.get("help", "")).strip()]
    if missing:
        name = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise RuntimeError(f"{name}: no help text on {', '.join(missing)} (declare it with setting(..., help=...))")


@dataclass
class LoraSettings:
    r: int = setting(16, help="rank of the LoRA adapters")
    alpha: int = setting(32, help="LoRA scaling: the adapters' update is multiplied by alpha / r")
    dropout: float = setting(0.05, help="dropout on the adapters' input while training")
    target_modules: list = setting(
        factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        help="modules that get adapters: the language model's projections only, so the vision tower stays frozen (the Qwen2-VL recipe)",
    )

    def __post_init__(self):
        require_help(self)


@dataclass
class ExportSettings:
    hf: bool = setting(True, help="write output_dir/hf: the Hugging Face folder (LoRA merged) that transformers and vLLM load")
    onnx: bool = setting(
        False,
        help="also write output_dir/onnx, the transformers.js layout of the onnx backend; the train stage asks for it only when "
             "something will run the model there (a vLLM user never needs it)",
    )
    validate_prompts: int = setting(3, help="training prompts whose greedy outputs ONNX and PyTorch must agree on")
    validate_new_tokens: int = setting(16, help="greedy tokens generated per validation prompt")
    dtype: str = setting(
        "base",
        help="weight dtype of the HF folder: base | bfloat16 | float16 | float32. base keeps the base model's (bf16 for "
             "Qwen2-VL), so the export is the size of the model it came from and vLLM serves it as is",
    )
    max_shard_size: str = setting("5GB", help="largest safetensors file of the HF folder (transformers' format: 5GB, 500MB)")

    def __post_init__(self):
        require_help(self)


@dataclass
class TrainConfig:
    base_model: str = setting(help="the model to post-train: a Hugging Face folder (PyTorch weights) of the Qwen2-VL family")
    train_file: str = setting(help="the training set: a JSON array of rows (ShareGPT messages with images; completion: prompt and completion)")
    output_dir: str = setting(help="where checkpoints/, hf/ and onnx/ go; training resumes from the newest complete checkpoint here")
    cache_dir: str = setting("", help="the tokenization cache, shared by runs over the same data and settings; empty: output_dir/tokenized")
    dataset_dir: str = setting("", help="relative image paths resolve here (LLaMA-Factory's dataset_dir); empty: train_file's folder")
    finetuning: str = setting("full", help="full | lora. full trains every weight that is not frozen (the paper); lora trains adapters on the language model and merges them for export")
    lora: LoraSettings = setting(factory=LoraSettings, help="the adapters of finetuning lora")
    freeze_vision_tower: bool = setting(True, help="freeze the vision tower, and visual.merger with it, as LLaMA-Factory does for Qwen2-VL")
    learning_rate: float = setting(1e-5, help="peak AdamW learning rate: linear warmup, then cosine decay to 0")
    epochs: float = setting(1.0, help="passes over the training set; a fraction stops part-way through the last")
    max_steps: int = setting(0, help="> 0 caps the optimizer steps (smoke runs, benchmarks)")
    per_device_batch_size: int = setting(8, help="examples per micro-batch in each process")
    gradient_accumulation_steps: int = setting(
        2, help="micro-batches per optimizer step: global batch = per_device_batch_size x this x processes; the loss is averaged over the global batch's label tokens",
    )
    warmup_ratio: float = setting(0.1, help="fraction of the steps over which the learning rate warms up linearly, in [0, 1)")
    weight_decay: float = setting(0.1, help="AdamW weight decay")
    max_grad_norm: float = setting(1.0, help="gradients are clipped to this global norm")
    max_length: int = setting(6144, help="cutoff in tokens: longer examples are truncated; one whose image would be cut is left out")
    sequence: str = setting(
        "chat",
        help="chat | synthesizer | completion. chat: the post-training sequence (assistant turns carry the loss). synthesizer: "
             "training a visual instruction synthesizer (docs/method.md 5.3): the caption turn is context, and every token after it "
             "(user headers, hints, questions, answers, terminators) plus the final <|endoftext|> carries the loss, so the model "
             "writes tasks and then stops. completion: raw text rows {\"prompt\", \"completion\"} (the consistency judge, "
             "docs/method.md 6): no chat template, the prompt is context, the completion and the tokenizer's eos after it carry the loss",
    )
    image_max_pixels: int = setting(
        512 * 512,
        help="larger training images are downscaled (NEAREST) to at most this many pixels, as LLaMA-Factory's image_max_pixels "
             "does: before the model's image processor, whose own bounds (preprocessor_config.json) then round the sides to "
             "multiples of 28, so the grid may hold a few pixels more than this",
    )
    image_min_pixels: int = setting(
        32 * 32,
        help="smaller training images are upscaled (NEAREST) to about this many pixels (LLaMA-Factory's image_min_pixels); "
             "then a side under 28 px is widened to 28 and a strip over 200:1 is cut to 180:1, as LLaMA-Factory does for Qwen2-VL",
    )
    seed: int = setting(42, help="seeds torch, numpy and random; the data order is a function of (seed, epoch)")
    device: str = setting("auto", help="auto | cpu | cuda. auto: cuda when torch sees a GPU")
    precision: str = setting(
        "auto",
        help="auto | bf16 | fp32. auto: bf16 autocast on GPU, fp32 on CPU. bf16 keeps fp32 master weights and fp32 AdamW state "
             "for every trainable tensor (a 1e-5 update is below half a bf16 step of most weights, so pure-bf16 weights would "
             "round it away); frozen parts are stored in bf16",
    )
    gradient_checkpointing: bool = setting(
        True,
        help="recompute each decoder layer's activations in backward (non-reentrant): 8 x 6k tokens of a 2B model keep "
             "~28 layers x 48k x 1536 x ~34 bytes ~ 70 GB of activations without it",
    )
    attn_implementation: str = setting("sdpa", help="sdpa | flash_attention_2 (the flash-attn package must be installed) | eager")
    group_by_length: bool = setting(True, help="batches of similar length (deterministic from seed and epoch) waste less on padding")
    strategy: str = setting(
        "ddp",
        help="ddp | fsdp, with several processes (torchrun sets WORLD_SIZE): ddp replicates the model, fsdp shards it (full "
             "shard; trainable parameters fp32) for models whose weights and AdamW state do not fit one GPU",
    )
    dataloader_workers: int = setting(2, help="DataLoader worker processes decoding and preprocessing images on the fly (0: in the training process)")
    pin_memory: bool = setting(True, help="page-locked host batches for faster copies to the GPU (ignored on CPU)")
    prefetch_factor: int = setting(2, help="batches each DataLoader worker prepares ahead")
    tokenize_workers: int = setting(0, help="processes tokenizing the training set (0: one per CPU, at most 16)")
    tokenize_shard_size: int = setting(1000, help="examples per shard of the tokenization cache")
    save_steps: int = setting(500, help="a checkpoint every this many optimizer steps (and at the end, and on SIGTERM)")
    save_total_limit: int = setting(1, help="checkpoints kept in output_dir/checkpoints; older ones are deleted")
    log_every: int = setting(1, help="a step event every this many optimizer steps (and at the last)")
    export: ExportSettings = setting(factory=ExportSettings, help="what is exported after training, and how it is checked")

    def __post_init__(self):
        require_help(self)

    def global_batch(self, world_size: int = 1) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps * world_size

    def to_dict(self) -> dict:
        return asdict(self)


# The resolved config (every setting, defaults filled) in every checkpoint folder and in
# output_dir once training is done: what a model was trained with, readable without the run.
RESOLVED_FILE = "train_config.json"


def save_resolved(cfg: TrainConfig, folder: Path) -> Path:
    """Writes folder/train_config.json (atomically: a reader never sees half of it)."""
    path = Path(folder) / RESOLVED_FILE
    tmp = path.with_name(f".{RESOLVED_FILE}.tmp")
    tmp.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    tmp.replace(path)
    return path


def describe(cls=TrainConfig) -> dict:
    """Every setting of a config class: its help and default (none where required); a group of
    settings (lora, export) has its own under "settings"."""
    require_help(cls)
    out = {}
    for f in fields(cls):
        entry = {"help": f.metadata["help"]}
        value = f.default if f.default is not MISSING else f.default_factory() if f.default_factory is not MISSING else MISSING
        if is_dataclass(value):
            entry["settings"] = describe(type(value))
        elif value is not MISSING:
            entry["default"] = value
        out[f.name] = entry
    return out


def describe_text(settings: dict, prefix: str = "") -> str:
    """describe() for a reader: `name = default` (or `name (required)`), then its help indented."""
    lines = []
    for name, entry in settings.items():
        if "settings" in entry:
            lines += [f"{prefix}{name}.*", *textwrap.wrap(entry["help"], 100, initial_indent="    ", subsequent_indent="    ")]
            lines.append(describe_text(entry["settings"], f"{prefix}{name}."))
            continue
        head = f"{prefix}{name} = {json.dumps(entry['default'])}" if "default" in entry else f"{prefix}{name} (required)"
        lines += [head, *textwrap.wrap(entry["help"], 100, initial_indent="    ", subsequent_indent="    ")]
    return "\n".join(lines)


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
