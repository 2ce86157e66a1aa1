"""Does a trained synthesizer take a thing's name from the caption? (the demo world's open question)

    .venv-models/bin/python demo/diagnostics/synthesizer_copy.py --model HF_DIR --world WORLD_DIR [--items 40]

HF_DIR is a synthesizer's exported Hugging Face folder (the demo's trainSynthesizer run: `runs
show` gives its artifacts; under the state folder, artifacts/train-model/<hash>/hf). WORLD_DIR is
the world folder (the one holding world.json).

For each of N domain slides and N general seed scenes, it renders the synthesizer's prompt
(docs/method.md §5.1: system turn, image, caption turn, open user header), appends the start of a
counting question ("Answer with a precise response.\\nHow many") and reads the distribution of
the next token over the nouns the world counts things by: every word that follows a number
word in that split's captions ("two lymphocytes"), less the catch-alls (cells, shapes, things).
It compares the probability per noun of the nouns this caption names with that of the nouns it
does not. A synthesizer that reads the caption puts far more on the first (ratio >> 1); one
that has learnt only the question grammar puts about the same on both (ratio ~ 1), and then it
cannot write a question about a new domain's things. It also counts the items whose greedy
continuation of "How many" is a noun of the caption spelt whole (copied_whole: the first token's
share says a copy starts, this says it ends right), and prints the greedy output of the first few
items.

One JSON line per split, then the greedy samples. Only the first token of each noun is scored,
and nouns whose first token another noun shares are left out (said in the output).

Two diagnostics for a synthesizer that starts a domain noun and does not finish it: --swap adds
splits with the slide replaced by a blank image and with the domain's and the general captions'
nouns swapped (is it the picture or the words that break the copy?); --pieces adds a line with
each piece of each domain noun, how likely the synthesizer is to copy it (teacher-forced), and how
often that piece occurs inside the general captions' nouns it learnt to copy from.
"""

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import Qwen2VLForConditionalGeneration

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))

from adamllm_trainer.config import TrainConfig  # noqa: E402
from adamllm_trainer.data import IGNORE, Encoder  # noqa: E402

NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CATCH_ALLS = {"cell", "cells", "shape", "shapes", "thing", "things"}
PROBE = "Answer with a precise response.\nHow many"
USER_OPEN = "<|im_start|>user\n"


def counted_nouns(captions: list) -> dict:
    """noun -> its plural, from "<number word> <noun>" in the captions (catch-alls left out)."""
    plurals, singulars = set(), set()
    for c in captions:
        for num, word in re.findall(r"\b(" + "|".join(NUMBER_WORDS) + r") ([a-z]+)\b", c.lower()):
            (singulars if num == "one" else plurals).add(word)
    nouns = {}
    for p in plurals:
        stem = p[:-2] if p.endswith("es") and p[:-2] in singulars else p[:-1] if p.endswith("s") else p
        if stem not in CATCH_ALLS and p not in CATCH_ALLS:
            nouns[stem] = p
    return nouns


class Probe:
    def __init__(self, model_dir: Path, side: int):
        # the trainer's own encoder, as the demo trains its synthesizer: images of side x side
        cfg = TrainConfig(base_model=str(model_dir), train_file="", output_dir="", sequence="synthesizer",
                          image_min_pixels=28 * 28, image_max_pixels=side * side)
        self.enc = Encoder(cfg)
        self.tok = self.enc.tok
        self.model = Qwen2VLForConditionalGeneration.from_pretrained(model_dir).eval()

    def batch(self, image: Path, caption: str, tail: str = "", then: tuple = ()) -> dict:
        """The synthesize stage's prompt (docs/method.md §5.1), then `tail`, then the token ids `then`:
        a synthesizer row's context as the trainer encodes it (system, image + caption hint,
        caption: its unlabelled part), and the open user header."""
        row = {"messages": [{"role": "user", "content": "<image>\nDescribe the image."}, {"role": "assistant", "content": caption}], "images": [str(image)]}
        ex, _ = self.enc.encode(row, with_pixels=True)
        context = ex["input_ids"][ex["labels"] == IGNORE]
        more = self.tok(USER_OPEN + tail, add_special_tokens=False)["input_ids"] + list(then)
        ids = torch.from_numpy(np.concatenate([context, np.asarray(more, np.int32)])).long()[None]
        return dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                    mm_token_type_ids=(ids == self.model.config.image_token_id).long(),
                    pixel_values=ex["pixel_values"], image_grid_thw=ex["image_grid_thw"])

    @torch.no_grad()
    def after_probe(self, image: Path, caption: str, tokens: int = 12) -> tuple:
        """After "How many": the next token's distribution, and the greedy words that follow (does
        a whole name come out, not only its start?), from one generate call."""
        b = self.batch(image, caption, PROBE)
        out = self.model.generate(**b, max_new_tokens=tokens, do_sample=False, output_logits=True, return_dict_in_generate=True)
        return out.logits[0][0].softmax(-1), self.tok.decode(out.sequences[0, b["input_ids"].shape[1]:])

    @torch.no_grad()
    def piece_probs(self, image: Path, caption: str, noun: str) -> list:
        """Teacher-forced: after "How many", the probability of each right next piece of ` noun`."""
        ids = self.tok.encode(" " + noun, add_special_tokens=False)
        b = self.batch(image, caption, PROBE, then=ids)
        probs = self.model(**b).logits[0].softmax(-1)
        n0 = b["input_ids"].shape[1] - len(ids)
        return [(self.tok.convert_ids_to_tokens([t])[0], float(probs[n0 - 1 + k, t])) for k, t in enumerate(ids)]

    @torch.no_grad()
    def greedy(self, image: Path, caption: str, tokens: int = 40) -> str:
        b = self.batch(image, caption)
        out = self.model.generate(**b, max_new_tokens=tokens, do_sample=False)
        return self.tok.decode(out[0, b["input_ids"].shape[1]:])


def first_tokens(tok, nouns: dict) -> tuple:
    """plural -> its first token id, leaving out nouns whose first token another noun shares."""
    ids = {p: tok.encode(" " + p, add_special_tokens=False)[0] for p in nouns.values()}
    counts = Counter(ids.values())
    shared = sorted(p for p, i in ids.items() if counts[i] > 1)
    return {p: i for p, i in ids.items() if counts[i] == 1}, shared


def names_whole(continuation: str, nouns: dict, caption_words: set) -> bool:
    """Is the first word after "How many" a noun the caption names (singular or plural), whole?"""
    said = re.findall(r"[a-z]+", continuation.lower())
    return bool(said) and any(said[0] in (s, p) for s, p in nouns.items() if s in caption_words or p in caption_words)


def split_report(probe: Probe, split: str, items: list, greedy: int) -> dict:
    """items: (image path, caption). Mass per noun on named vs unnamed nouns, and greedy samples."""
    nouns = counted_nouns([c for _, c in items])
    ids, shared = first_tokens(probe.tok, nouns)
    named_pn, unnamed_pn, catch_all, samples = [], [], [], []
    whole = 0  # items whose greedy "How many …" goes on with a noun of the caption, spelt whole
    catch_ids = {probe.tok.encode(" " + w, add_special_tokens=False)[0] for w in ("cells", "shapes", "things")}
    for k, (image, caption) in enumerate(items):
        words = set(re.findall(r"[a-z]+", caption.lower()))
        named = [p for s, p in nouns.items() if p in ids and (s in words or p in words)]
        unnamed = [p for p in ids if p not in named]
        dist, continuation = probe.after_probe(image, caption)
        if named:
            named_pn.append(float(sum(dist[ids[p]] for p in named)) / len(named))
        if unnamed:
            unnamed_pn.append(float(sum(dist[ids[p]] for p in unnamed)) / len(unnamed))
        catch_all.append(float(sum(dist[i] for i in catch_ids)))
        whole += names_whole(continuation, nouns, words)
        if k < greedy:
            samples.append({"caption": caption[:120], "greedy": probe.greedy(image, caption)})
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    named_m, unnamed_m = mean(named_pn), mean(unnamed_pn)
    return {"split": split, "items": len(items), "nouns": len(ids), "shared_first_token": shared,
            "p_per_named_noun": round(named_m, 4), "p_per_unnamed_noun": round(unnamed_m, 4),
            "ratio": round(named_m / unnamed_m, 2) if unnamed_m > 0 else None,
            "p_catch_all": round(mean(catch_all), 4), "copied_whole": f"{whole}/{len(items)}", "samples": samples}


def pieces_report(probe: Probe, items: list, general_captions: list) -> dict:
    """Per piece of each noun the domain captions count: the mean teacher-forced probability of
    copying it (after "How many" and the pieces before it), and how often the piece occurs inside
    a counted noun of the general captions (past its first piece; main passes the whole seed), where
    the synthesizer learnt to copy. A whole copy needs every piece near 1."""
    seen = Counter()
    for c in general_captions:
        for p in counted_nouns([c]).values():
            seen.update(probe.tok.convert_ids_to_tokens(probe.tok.encode(" " + p, add_special_tokens=False))[1:])
    got = {}
    for image, caption in items:
        for p in counted_nouns([caption]).values():
            for k, (t, pr) in enumerate(probe.piece_probs(image, caption, p)):
                got.setdefault((p, k, t), []).append(pr)
    return {"split": "domain pieces", "pieces": [
        {"noun": p, "piece": k, "token": t, "p": round(sum(v) / len(v), 4), "items": len(v), "in_general_nouns": seen[t]}
        for (p, k, t), v in sorted(got.items())]}


def swapped_splits(general: list, domain: list, blank: Path) -> dict:
    """Which half breaks a copy, the slide or its words? The domain captions with a blank image; the
    domain captions with their nouns swapped for nouns of the general captions (the i-th domain
    noun, alphabetically, for the i-th longest general one); the general captions with their nouns
    swapped for the domain's."""
    g_nouns = sorted(counted_nouns([c for _, c in general]), key=lambda x: (-len(x), x))
    d_nouns = sorted(counted_nouns([c for _, c in domain]))
    if not g_nouns or not d_nouns:
        return {}

    def swap(caption: str, pairs: list) -> str:
        for a, b in pairs:
            caption = re.sub(r"\b" + a, b, caption)  # the plural follows the stem
        return caption

    to_general = list(zip(d_nouns, g_nouns))
    return {
        "domain, blank image": [(blank, c) for _, c in domain],
        "domain, nouns swapped for general ones": [(i, swap(c, to_general)) for i, c in domain],
        "general, nouns swapped for the domain's": [
            (i, swap(c, [(a, d_nouns[k % len(d_nouns)]) for k, a in enumerate(sorted(counted_nouns([c]), key=len, reverse=True))]))
            for i, c in general],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, type=Path, help="the synthesizer's HF folder")
    ap.add_argument("--world", required=True, type=Path, help="the world folder (holds world.json)")
    ap.add_argument("--items", type=int, default=40, help="items per split (default 40)")
    ap.add_argument("--greedy", type=int, default=3, help="items per split to decode greedily (default 3)")
    ap.add_argument("--pieces", action="store_true", help="also: per piece of each domain noun, how well it is copied (pieces_report)")
    ap.add_argument("--swap", action="store_true", help="also: the splits with the slide or the nouns swapped (swapped_splits)")
    a = ap.parse_args(argv)
    if not (a.world / "world.json").is_file():
        ap.error(f"--world {a.world}: no world.json there (pass the world folder, e.g. <state>/demo/world-full/world)")
    if not (a.model / "config.json").is_file():
        ap.error(f"--model {a.model}: no config.json there (pass a synthesizer's HF folder, e.g. <state>/artifacts/train-model/<hash>/hf)")
    manifest = json.loads((a.world / "world.json").read_text())
    entries, side = manifest["entries"], manifest["params"]["side"]
    seed_file = a.world / entries["generalSeed"]
    seed = json.loads(seed_file.read_text())
    pairs_file = a.world / entries["domainPairs"]
    pairs = json.loads(pairs_file.read_text())
    torch.manual_seed(0)
    probe = Probe(a.model, side)
    splits = {
        # the seed's last rows: the synthesizer's dev part is drawn from everywhere, so these may have been trained on
        "general": [(seed_file.parent / r["image"], r["caption"]) for r in seed[-a.items:]],
        "domain": [(pairs_file.parent / p["images"][0], next(m["content"] for m in p["messages"] if m["role"] == "assistant")) for p in pairs[:a.items]],
    }
    with tempfile.TemporaryDirectory() as tmp:
        if a.swap:
            blank = Path(tmp) / "blank.png"
            Image.new("RGB", (side, side), "white").save(blank)
            splits.update(swapped_splits(splits["general"], splits["domain"], blank))
        for name, items in splits.items():
            print(json.dumps(split_report(probe, name, items, a.greedy)))
    if a.pieces:
        print(json.dumps(pieces_report(probe, splits["domain"], [r["caption"] for r in seed])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
