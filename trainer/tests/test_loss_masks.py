"""Which tokens carry the loss, per sequence kind: the labelled tokens decode to exactly the
text the model must learn to write, and the context (system turn, prompts, image slots) is -100."""

import numpy as np

from adamllm_trainer.data import END_OF_SYNTHESIS, IGNORE, Encoder
from conftest import IMAGE


def split(example, tok):
    ids, labels = example["input_ids"], example["labels"]
    labelled = labels != IGNORE
    assert np.array_equal(labels[labelled], ids[labelled]), "a labelled position must predict its own token"
    return tok.decode(ids[labelled].tolist()), tok.decode(ids[~labelled].tolist())


def test_chat_labels_the_assistant_turns_only(make_config):
    row = {
        "messages": [
            {"role": "user", "content": "<image>What colour is it?"},
            {"role": "assistant", "content": "Red."},
            {"role": "user", "content": "And the shape?"},
            {"role": "assistant", "content": "A square."},
        ],
        "images": [str(IMAGE)],
    }
    enc = Encoder(make_config([row]))
    ex, why = enc.encode(row)
    assert why is None
    labelled, context = split(ex, enc.tok)
    assert labelled == "Red.<|im_end|>\nA square.<|im_end|>\n"
    assert "What colour is it?" in context and "And the shape?" in context and "<|im_start|>system" in context
    image_pad = enc.tok.convert_tokens_to_ids("<|image_pad|>")
    assert (ex["input_ids"] == image_pad).sum() > 0
    assert not (ex["labels"] == image_pad).any(), "image slots are never labelled"


def test_synthesizer_labels_everything_after_the_caption_turn_and_ends_with_endoftext(make_config):
    row = {
        "messages": [
            {"role": "user", "content": "<image>Describe the image."},
            {"role": "assistant", "content": "A red square on white."},
            {"role": "user", "content": "Ask a question."},
            {"role": "assistant", "content": "What colour is the square? Red."},
        ],
        "images": [str(IMAGE)],
    }
    enc = Encoder(make_config([row], sequence="synthesizer"))
    ex, why = enc.encode(row)
    assert why is None
    labelled, context = split(ex, enc.tok)
    assert labelled == (
        "<|im_start|>user\nAsk a question.<|im_end|>\n<|im_start|>assistant\n"
        "What colour is the square? Red.<|im_end|>\n" + END_OF_SYNTHESIS
    )
    assert "A red square on white." in context, "the caption is context, not a target"
    assert ex["labels"][-1] == enc.tok.convert_tokens_to_ids(END_OF_SYNTHESIS)


def test_completion_labels_the_completion_and_eos_not_the_prompt(make_config):
    row = {"prompt": "Is the answer consistent? Answer:", "completion": " Yes"}
    enc = Encoder(make_config([row], sequence="completion"))
    ex, why = enc.encode(row)
    assert why is None
    labelled, context = split(ex, enc.tok)
    assert context == "Is the answer consistent? Answer:"
    assert labelled == " Yes" + enc.tok.eos_token
    assert ex["labels"][-1] == enc.tok.eos_token_id


def test_a_row_cut_before_its_first_label_is_left_out(make_config):
    row = {"prompt": "word " * 200, "completion": " Yes"}
    enc = Encoder(make_config([row], sequence="completion", max_length=16))
    ex, why = enc.encode(row)
    assert ex is None and why == "no labelled token within maxLength"
