"""adamllm's trainer: single-stage post-training of a Qwen2-VL-family model on the composed
training set (ShareGPT rows with images), driven by one JSON config, reporting JSON lines."""

__version__ = "0.1.0"
