"""Training images are sized as LLaMA-Factory's Qwen2-VL plugin sizes them.

The reference below is written here from LLaMA-Factory's rules (src/llamafactory/data/mm_plugin.py:
BasePlugin._preprocess_image, then Qwen2VLPlugin._preprocess_image) and transformers' smart_resize,
as plain arithmetic: the trainer's real image_grid_thw must equal it. Extreme strips (1000x3, a
3x2 speck, over 200:1) train instead of failing the run; an image the processor still refuses
leaves its row out with a reason, as an unreadable one does."""

import json
import math
import shutil
from pathlib import Path

import pytest
from PIL import Image

import adamllm_trainer.data as data
import adamllm_trainer.train as train_module
from adamllm_trainer.data import UNPROCESSABLE, Encoder, ImageUnprocessable
from adamllm_trainer.tokenized import tokenized_folder
from conftest import chat_row

PHOTOS = [(640, 480), (800, 600), (1024, 768), (1280, 720), (1920, 1080), (2048, 1536), (3024, 4032), (4032, 3024),
          (4000, 3000), (1080, 1920), (500, 375), (300, 200), (224, 224), (28, 1000),
          (1000, 28), (768, 1024), (720, 1280), (2560, 1440), (1600, 1200), (512, 512), (513, 511), (100, 100),
          (64, 48), (56, 56), (27, 27), (600, 3)]
STRIPS = [(1000, 3), (3, 1000), (3, 2), (1, 1), (6000, 28), (28, 6000), (5000, 20), (300, 1)]
# Qwen/Qwen2-VL-2B-Instruct's preprocessor_config.json bounds (min_pixels, max_pixels; no `size`)
QWEN2VL_2B = {"min_pixels": 3136, "max_pixels": 12845056}


def llamafactory_size(w: int, h: int, max_pixels: int, min_pixels: int) -> tuple:
    """(width, height) of the image LLaMA-Factory hands Qwen2-VL's processor."""
    if w * h > max_pixels:
        f = math.sqrt(max_pixels / (w * h))
        w, h = int(w * f), int(h * f)
    if w * h < min_pixels:
        f = math.sqrt(min_pixels / (w * h))
        w, h = int(w * f), int(h * f)
    if w < 28 or h < 28:
        w, h = max(w, 28), max(h, 28)
    if w / h > 200:
        w = h * 180
    if h / w > 200:
        h = w * 180
    return w, h


def qwen2vl_grid(w: int, h: int, min_pixels: int, max_pixels: int, patch: int = 14, merge: int = 2) -> list:
    """image_grid_thw of one image: sides to multiples of patch*merge, area into the bounds."""
    unit = patch * merge
    assert max(w, h) / min(w, h) <= 200
    hh, ww = round(h / unit) * unit, round(w / unit) * unit
    if hh * ww > max_pixels:
        s = math.sqrt(h * w / max_pixels)
        hh, ww = max(unit, math.floor(h / s / unit) * unit), max(unit, math.floor(w / s / unit) * unit)
    elif hh * ww < min_pixels:
        s = math.sqrt(min_pixels / (h * w))
        hh, ww = math.ceil(h * s / unit) * unit, math.ceil(w * s / unit) * unit
    return [1, hh // patch, ww // patch]


def processor_bounds(model: Path) -> tuple:
    pre = json.loads((model / "preprocessor_config.json").read_text())
    size = pre.get("size") or {}
    return pre.get("min_pixels", size.get("shortest_edge")), pre.get("max_pixels", size.get("longest_edge"))


def expected_grid(w: int, h: int, model: Path, image_max_pixels: int, image_min_pixels: int) -> list:
    return qwen2vl_grid(*llamafactory_size(w, h, image_max_pixels, image_min_pixels), *processor_bounds(model))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("sizes")
    out = {}
    for w, h in PHOTOS + STRIPS:
        p = folder / f"{w}x{h}.png"
        Image.new("RGB", (w, h), (200, 120, 40)).save(p, compress_level=1)
        out[(w, h)] = p
    return out


@pytest.fixture(scope="module")
def qwen2vl_2b_processor(tmp_path_factory, tiny_vl) -> Path:
    """The tiny model's files with Qwen2-VL-2B-Instruct's preprocessor_config.json bounds."""
    folder = tmp_path_factory.mktemp("qwen2vl-2b-processor")
    for f in tiny_vl.iterdir():
        if f.is_file() and not f.name.endswith(".safetensors"):
            shutil.copy2(f, folder / f.name)
    pre = json.loads((tiny_vl / "preprocessor_config.json").read_text())
    pre.pop("size", None)
    (folder / "preprocessor_config.json").write_text(json.dumps({**pre, **QWEN2VL_2B}))
    return folder


def grid_of(enc: Encoder, path: Path) -> list:
    return enc.pixels([str(path)])["image_grid_thw"].tolist()[0]


def test_a_640x480_photo_gets_llamafactorys_448x588_grid(make_config, qwen2vl_2b_processor, images):
    enc = Encoder(make_config(base_model=str(qwen2vl_2b_processor)))
    assert grid_of(enc, images[(640, 480)]) == [1, 448 // 14, 588 // 14]


@pytest.mark.parametrize("model, image_max_pixels, image_min_pixels", [
    ("qwen2vl-2b", 512 * 512, 32 * 32), ("tiny", 512 * 512, 32 * 32), ("qwen2vl-2b", 56 * 56, 28 * 28), ("tiny", 1280 * 28 * 28, 224 * 224),
])
def test_grids_equal_llamafactorys_arithmetic(make_config, tiny_vl, qwen2vl_2b_processor, images, model, image_max_pixels, image_min_pixels):
    folder = qwen2vl_2b_processor if model == "qwen2vl-2b" else tiny_vl
    enc = Encoder(make_config(base_model=str(folder), image_max_pixels=image_max_pixels, image_min_pixels=image_min_pixels))
    got = {size: grid_of(enc, p) for size, p in images.items()}
    want = {size: expected_grid(*size, folder, image_max_pixels, image_min_pixels) for size in images}
    assert {f"{w}x{h}": g for (w, h), g in got.items() if g != want[(w, h)]} == {}


def test_extreme_strips_are_clamped_as_llamafactory_does(make_config, qwen2vl_2b_processor, images):
    enc = Encoder(make_config(base_model=str(qwen2vl_2b_processor)))
    # 1000x3: 3 px widened to 28 -> 1000x28 -> 28x1008; 3x2: upscaled to 39x26 (int), 26 -> 28, then
    # the processor's min_pixels 3136 -> 56x84; 6000x28: 214:1 cut to 180:1 -> 5040x28
    assert grid_of(enc, images[(1000, 3)]) == [1, 2, 72]
    assert grid_of(enc, images[(3, 2)]) == [1, 4, 6]
    assert grid_of(enc, images[(6000, 28)]) == [1, 2, 360]
    assert grid_of(enc, images[(28, 6000)]) == [1, 360, 2]
    ex, reason = enc.encode({**chat_row(), "images": [str(images[(1000, 3)])]})
    assert reason is None and ex["grids"] == [[1, 2, 72]]


def test_a_run_over_extreme_images_trains(make_config, images):
    rows = [chat_row()] + [{**chat_row(f"Strip {w}x{h}?"), "images": [str(images[(w, h)])]} for w, h in [(1000, 3), (3, 2), (6000, 28), (3, 1000)]]
    cfg = make_config(rows, device="cpu", precision="fp32", max_steps=1, per_device_batch_size=5, gradient_accumulation_steps=1,
                      warmup_ratio=0, dataloader_workers=0, tokenize_workers=1, gradient_checkpointing=False, export={"hf": False})
    _, step, _, stopped, losses, _ = train_module.train(cfg)
    assert (step, stopped) == (1, False) and all(math.isfinite(x) for x in losses)


def test_an_image_the_processor_refuses_leaves_its_row_out_with_a_reason(make_config, images, monkeypatch, capsys):
    # as if the clamping missed a case: the 1000x3 strip reaches smart_resize as it is (333:1)
    monkeypatch.setattr(data, "regularize", lambda img, max_pixels, min_pixels: img)
    rows = [chat_row(), {**chat_row("Strip?"), "images": [str(images[(1000, 3)])]}, {**chat_row("Speck?"), "images": [str(images[(3, 2)])]}]
    cfg = make_config(rows, tokenize_workers=1)
    with pytest.raises(ImageUnprocessable) as refused:
        Encoder(cfg).encode(rows[1])
    assert refused.value.reason == UNPROCESSABLE and "1000x3.png" in str(refused.value)
    _, index = tokenized_folder(cfg)
    assert index["examples"] == 2
    assert [(f["reason"], f["n"], [s["row"] for s in f["samples"]]) for f in index["filtered"]] == [(UNPROCESSABLE, 1, [1])]
    assert "aspect ratio" in index["filtered"][0]["samples"][0]["detail"]
    event = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert event["event"] == "data" and event["filtered"] == [{"reason": UNPROCESSABLE, "n": 1}]
