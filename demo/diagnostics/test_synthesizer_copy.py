"""demo/diagnostics/synthesizer_copy.py: the nouns it scores, and one whole run on the tiny Qwen2-VL over a
hand-made world folder (the probe must read a world and a model folder as the demo writes them)."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# the reference image scripts/build-models.sh writes beside the tiny models
IMAGE = ROOT / "models" / "out" / "reference_image.png"

TINY_VL = ROOT / "models" / "out" / "qwen2vl-tiny"


@pytest.fixture(scope="session")
def tiny_vl() -> Path:
    if not (TINY_VL / "config.json").is_file():
        pytest.fail(f"{TINY_VL} is missing: run bash scripts/build-models.sh")
    return TINY_VL


spec = importlib.util.spec_from_file_location("synthesizer_copy", HERE / "synthesizer_copy.py")
sc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sc)


def test_counted_nouns_takes_plurals_after_number_words_and_leaves_out_catch_alls():
    nouns = sc.counted_nouns([
        "The cells are two lymphocytes and one macrophage. Five cells in all.",
        "One lymphocyte and three macrophages.",
        "two crosses and one cross; three shapes",
    ])
    assert nouns == {"lymphocyte": "lymphocytes", "macrophage": "macrophages", "cross": "crosses"}


def test_names_whole_wants_the_caption_noun_spelt_whole_as_the_next_word():
    nouns = {"lymphocyte": "lymphocytes", "neutrophil": "neutrophils"}
    said = {"two", "lymphocytes", "and", "one", "cell"}
    assert sc.names_whole(" lymphocytes are there?", nouns, said)
    assert sc.names_whole(" Lymphocyte", nouns, said)
    assert not sc.names_whole(" lymphocgegege", nouns, said)  # a copy that derails
    assert not sc.names_whole(" neutrophils are there?", nouns, said)  # a noun this caption does not name
    assert not sc.names_whole(" cells, then lymphocytes", nouns, said)  # the name, but not next
    assert not sc.names_whole("", nouns, said)


def test_swapped_splits_trade_the_nouns_between_the_splits_and_blank_the_slide(tmp_path):
    # counted_nouns takes a noun once it is counted in the plural
    general = [(tmp_path / "g.png", "They are two kymgolthys and three sindirplals. One sindirplal is red.")]
    domain = [(tmp_path / "d.png", "The cells are three lymphocytes and two neutrophils. One neutrophil divides.")]
    blank = tmp_path / "blank.png"
    s = sc.swapped_splits(general, domain, blank)
    assert s["domain, blank image"] == [(blank, domain[0][1])]
    # lymphocyte -> the longest general noun (sindirplal), neutrophil -> the next; plurals follow their stems
    assert s["domain, nouns swapped for general ones"] == [(tmp_path / "d.png", "The cells are three sindirplals and two kymgolthys. One kymgolthy divides.")]
    assert s["general, nouns swapped for the domain's"] == [(tmp_path / "g.png", "They are two neutrophils and three lymphocytes. One lymphocyte is red.")]
    assert sc.swapped_splits(general, [(blank, "No cells.")], blank) == {}


def test_first_tokens_leaves_out_nouns_that_share_a_first_token(tiny_vl):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_vl)
    nouns = {"square": "squares", "circle": "circles", "dog": "dogs"}
    ids, shared = sc.first_tokens(tok, nouns)
    firsts = [tok.encode(" " + p, add_special_tokens=False)[0] for p in nouns.values()]
    for p, first in zip(nouns.values(), firsts):
        assert (p in ids) == (firsts.count(first) == 1)
        assert (p in shared) == (firsts.count(first) > 1)


def test_a_run_over_a_world_folder_reports_each_split(tmp_path, tiny_vl, capsys):
    world = tmp_path / "world"
    (world / "general" / "images").mkdir(parents=True)
    (world / "domain" / "images").mkdir(parents=True)
    shutil.copy(IMAGE, world / "general" / "images" / "g.png")
    shutil.copy(IMAGE, world / "domain" / "images" / "d.png")
    seed = [{"image": "images/g.png", "caption": c, "tasks": []} for c in ("We can see two lanterns and three pebbles.", "There are four kettles.")]
    pairs = [{"images": ["images/d.png"], "messages": [{"role": "user", "content": "<image>Describe the slide."}, {"role": "assistant", "content": c}]}
             for c in ("The cells are two lymphocytes.", "They comprise three neutrophils and two lymphocytes.")]
    (world / "general" / "seed.json").write_text(json.dumps(seed))
    (world / "domain" / "pairs.json").write_text(json.dumps(pairs))
    (world / "world.json").write_text(json.dumps({"params": {"side": 56}, "entries": {"generalSeed": "general/seed.json", "domainPairs": "domain/pairs.json"}}))

    assert sc.main(["--model", str(tiny_vl), "--world", str(world), "--items", "2", "--greedy", "1", "--swap", "--pieces"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["split"] for x in lines] == ["general", "domain", "domain, blank image", "domain, nouns swapped for general ones",
                                           "general, nouns swapped for the domain's", "domain pieces"]
    pieces = lines.pop()["pieces"]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_vl)
    # every piece of both domain nouns, in order, each a probability
    for noun in ("lymphocytes", "neutrophils"):
        got = [x for x in pieces if x["noun"] == noun]
        assert [x["token"] for x in got] == tok.convert_ids_to_tokens(tok.encode(" " + noun, add_special_tokens=False))
        assert all(0 <= x["p"] <= 1 and x["items"] >= 1 for x in got)
    general, domain = lines[:2]
    assert general["items"] == 2 and domain["items"] == 2
    assert general["nouns"] + len(general["shared_first_token"]) == 3  # lanterns, pebbles, kettles
    assert domain["nouns"] + len(domain["shared_first_token"]) == 2  # lymphocytes, neutrophils
    for x in lines[:2]:
        assert 0 <= x["p_per_named_noun"] <= 1 and 0 <= x["p_catch_all"] <= 1
        assert len(x["samples"]) == 1 and isinstance(x["samples"][0]["greedy"], str)
        assert x["copied_whole"] in ("0/2", "1/2", "2/2")


def test_the_prompt_is_the_synthesize_stage_one_for_qwen2vl(tiny_vl):
    # docs/method.md §5.1's layout, the image slot expanded (one pad per merged patch), then the open
    # user header and the probe
    probe = sc.Probe(tiny_vl, 56)
    b = probe.batch(IMAGE, "A cap.", "How many")
    npad = int(b["image_grid_thw"].prod()) // 4
    want = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>"
            + "<|image_pad|>" * npad + "<|vision_end|>\nDescribe the image.<|im_end|>\n<|im_start|>assistant\n"
            + "A cap.<|im_end|>\n<|im_start|>user\nHow many")
    assert npad > 0 and probe.tok.decode(b["input_ids"][0]) == want
    assert int(b["mm_token_type_ids"].sum()) == npad


def test_a_folder_that_is_not_a_world_or_a_model_is_named_in_the_error(tmp_path, tiny_vl, capsys):
    with pytest.raises(SystemExit) as e:
        sc.main(["--model", str(tiny_vl), "--world", str(tmp_path)])
    assert e.value.code == 2 and "no world.json" in capsys.readouterr().err
    (tmp_path / "world.json").write_text("{}")
    with pytest.raises(SystemExit):
        sc.main(["--model", str(tmp_path), "--world", str(tmp_path)])
    assert "no config.json" in capsys.readouterr().err
