"""Tokenizers: round trips on arbitrary Unicode, BPE training behaviour, persistence, errors."""

import json
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinytorch
from tinytorch.text import GPT2_SPLIT_PATTERN, BPETokenizer, CharTokenizer, count_pairs

# Any Unicode text that is valid UTF-8: every code point except the surrogates (category Cs).
unicode_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200)

SAMPLE = (
    "The perceptron learned to separate points with a line. The lower layers learn edges; "
    "the higher layers learn shapes. Learners learn by building: tensor, autograd, layer, "
    "loss, optimizer, training loop. Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001f600 12345 "
    "don't won't it's   spaces\tand\ttabs\n\nnew lines_and_underscores!!\n"
) * 8


@pytest.fixture(scope="module")
def trained():
    tok = BPETokenizer()
    tok.train(SAMPLE, vocab_size=400)
    return tok


# ---------------------------------------------------------------- CharTokenizer

def test_char_vocab_is_sorted_distinct_characters():
    tok = CharTokenizer("hello world")
    assert tok.itos == sorted(set("hello world"))
    assert tok.vocab_size == 8
    assert tok.encode("low") == [tok.stoi["l"], tok.stoi["o"], tok.stoi["w"]]
    assert CharTokenizer.from_text("hello world").itos == tok.itos


@given(unicode_text.filter(bool))
def test_char_round_trip(text):
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


def test_char_round_trip_with_surrogates_and_nul():
    text = "a\x00b\ud800\U0001f600\u0301"
    tok = CharTokenizer(text)
    assert tok.decode(tok.encode(text)) == text


def test_char_decode_accepts_numpy_and_tensor():
    tok = CharTokenizer("abc")
    assert tok.decode(np.array([2, 0], dtype=np.int32)) == "ca"
    assert tok.decode(tinytorch.tensor([1, 2])) == "bc"
    assert tok.decode([]) == ""


def test_char_unknown_character_names_it():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"CharTokenizer.encode: character 'z' \(U\+007A\) at position 1"):
        tok.encode("az")


def test_char_unk_option():
    tok = CharTokenizer("abc", unk="?")
    assert "?" in tok.stoi and tok.vocab_size == 4
    assert tok.decode(tok.encode("axbz")) == "a?b?"


def test_char_errors():
    with pytest.raises(ValueError, match="text is empty"):
        CharTokenizer("")
    with pytest.raises(TypeError, match="must be a str"):
        CharTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="unk must be a single character"):
        CharTokenizer("abc", unk="??")
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"token id 3 at position 1 is out of range for vocab_size 3"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match=r"token id -1 at position 0"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="must be integers"):
        tok.decode([0.5])
    with pytest.raises(ValueError, match=r"1-D sequence of token ids, got shape \(1, 2\)"):
        tok.decode([[0, 1]])
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(b"abc")


# ---------------------------------------------------------------- BPETokenizer

def test_count_pairs_counts_overlapping_pairs_and_adds_into_a_dict():
    assert count_pairs([7, 7, 7, 7]) == {(7, 7): 3}
    assert count_pairs([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert count_pairs([5]) == {} and count_pairs([]) == {}
    totals = {(1, 2): 5, (9, 9): 1}
    assert count_pairs([1, 2, 1, 2], totals) is totals  # summing over chunks
    assert totals == {(1, 2): 7, (9, 9): 1, (2, 1): 1}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=60))
def test_count_pairs_equals_counter_of_adjacent_pairs(ids):
    assert count_pairs(ids) == Counter(zip(ids, ids[1:]))


def test_bpe_first_merge_is_the_most_frequent_pair_of_count_pairs():
    totals = {}
    for chunk in BPETokenizer()._chunks(SAMPLE):
        count_pairs(list(chunk.encode("utf-8")), totals)
    tok = BPETokenizer()
    tok.train(SAMPLE, vocab_size=257)
    assert list(tok.merges) == [min(totals, key=lambda pair: (-totals[pair], pair))]  # ties: smallest pair


def test_bpe_untrained_is_bytes():
    tok = BPETokenizer()
    assert tok.vocab_size == 256
    assert tok.encode("h\u00e9") == list("h\u00e9".encode("utf-8"))


def test_bpe_vocab_size_and_merge_tokens(trained):
    assert trained.vocab_size == 400
    assert len(trained.merges) == 144
    for (first, second), new_id in trained.merges.items():
        assert first < new_id and second < new_id
        assert trained.vocab[new_id] == trained.vocab[first] + trained.vocab[second]


def test_bpe_merges_reduce_token_count(trained):
    n_bytes = len(SAMPLE.encode("utf-8"))
    small = BPETokenizer()
    small.train(SAMPLE, vocab_size=300)
    n_small, n_large = len(small.encode(SAMPLE)), len(trained.encode(SAMPLE))
    assert n_large < n_small < n_bytes
    assert n_large < n_bytes / 2


def test_bpe_first_merge_is_most_frequent_pair():
    text = "aaab " * 10 + "xy " * 3
    tok = BPETokenizer()
    tok.train(text, vocab_size=257)
    # Chunks are "aaab" and " aaab"; ("a", "a") occurs twice per chunk, more than any other pair.
    assert list(tok.merges) == [(ord("a"), ord("a"))]


def test_bpe_merges_never_cross_chunks():
    tok = BPETokenizer()
    tok.train("hello world. " * 30, vocab_size=266)  # 266: every chunk is one token
    assert {b"hello", b" world", b"."} <= set(tok.vocab)
    for token in tok.vocab[256:]:
        text = token.decode("utf-8")
        # Never a word glued to the space or punctuation that follows it.
        assert not (text[:-1].strip() and text[-1] in " .")


def test_bpe_train_is_deterministic(trained):
    again = BPETokenizer()
    again.train(SAMPLE, vocab_size=400)
    assert again.merges == trained.merges
    assert list(again.merges) == list(trained.merges)


def test_bpe_frequent_word_becomes_one_token(trained):
    assert trained.encode(" learn") == [trained.vocab.index(b" learn")]
    assert len(trained.encode(" perceptron")) < len(" perceptron")


def reference_train(chunks, num_merges):
    """Slow, obviously correct BPE: recount every pair before every merge.

    Returns the merges and each chunk's final ids. Ties go to the smallest pair, as in
    BPETokenizer.train.
    """
    words = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges = []
    for new_id in range(256, 256 + num_merges):
        counts = Counter(pair for word in words for pair in zip(word, word[1:]))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        merges.append(pair)
        for k, word in enumerate(words):
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            words[k] = out
    return merges, words


@pytest.mark.parametrize("pattern", [GPT2_SPLIT_PATTERN, None])
def test_bpe_train_and_encode_match_slow_reference(pattern):
    text = SAMPLE[:1500] + "aaaaaaa bbbbbb abababab aaab" * 3
    tok = BPETokenizer(pattern=pattern)
    tok.train(text, vocab_size=256 + 60)
    chunks = tok._chunks(text)
    merges, words = reference_train(chunks, 60)
    assert list(tok.merges) == merges
    assert tok.encode(text) == [i for word in words for i in word]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab c", max_size=400), st.sampled_from([GPT2_SPLIT_PATTERN, None]))
@example("a" * 301 + " aab" * 80, None)
@example("ab" * 150 + "ba" * 150 + "c" * 20, GPT2_SPLIT_PATTERN)
def test_bpe_matches_reference_on_repetitive_text(text, pattern):
    # A tiny alphabet makes overlapping pairs (aaa, abab) and long chunks (> 256 bytes) common.
    tok = BPETokenizer(pattern=pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok.train(text, vocab_size=256 + 20)
    merges, words = reference_train(tok._chunks(text), 20)
    assert list(tok.merges) == merges
    assert tok.encode(text) == [i for word in words for i in word]


@settings(max_examples=150, deadline=None)
@given(unicode_text)
@example("\x00 e\u0301 \U0001f469\u200d\U0001f4bb \ufeff\U0010ffff \r\n\t  x")  # NUL, combining, ZWJ emoji
def test_bpe_round_trip_any_unicode(text):
    tok = _tokenizer_for_property_tests()
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(unicode_text)
def test_bpe_round_trip_when_trained_on_the_text(text):
    tok = BPETokenizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short texts run out of pairs before 300
        tok.train(text * 3, vocab_size=300)
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text * 3)) == text * 3


def test_bpe_round_trip_without_pre_split():
    tok = BPETokenizer(pattern=None)
    tok.train(SAMPLE, vocab_size=300)
    for text in [SAMPLE, "", "\x00\U0001f600 e\u0301 \u65e5", "unseen words zebra"]:
        assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(SAMPLE)) < len(SAMPLE.encode("utf-8"))


def test_bpe_stops_early_with_warning_when_nothing_left_to_merge():
    tok = BPETokenizer()
    with pytest.warns(UserWarning, match="stopped at vocab_size 258 instead of 1000"):
        tok.train("ab ab ab", vocab_size=1000)
    assert tok.vocab_size == 258
    assert tok.encode(" ab") == [257]


def test_bpe_save_load_round_trip(trained, tmp_path):
    path = tmp_path / "tok.json"
    trained.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.vocab == trained.vocab
    assert list(loaded.merges) == list(trained.merges)
    assert loaded.pattern == trained.pattern
    for text in [SAMPLE, "never seen: zebra \U0001f993 42", ""]:
        assert loaded.encode(text) == trained.encode(text)
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON


def test_bpe_save_load_keeps_pattern_none_and_special_tokens(tmp_path):
    tok = BPETokenizer(pattern=None)
    tok.train(SAMPLE, vocab_size=280)
    tok.add_special_tokens(["<|endoftext|>"])
    loaded = BPETokenizer.load(_saved(tok, tmp_path / "t.json"))
    assert loaded.pattern is None
    assert loaded.special_tokens == {"<|endoftext|>": 280}
    text = "one<|endoftext|>two"
    assert loaded.encode(text) == tok.encode(text)


def test_bpe_special_tokens(trained, tmp_path):
    tok = BPETokenizer.load(_saved(trained, tmp_path / "copy.json"))
    eot, pad = tok.add_special_tokens(["<|endoftext|>", "<|pad|>"])
    assert (eot, pad) == (400, 401) and tok.vocab_size == 402
    assert tok.add_special_tokens("<|pad|>") == [401]  # registering again keeps the id
    text = "hello<|endoftext|>world<|pad|>"
    ids = tok.encode(text)
    assert ids.count(eot) == 1 and ids[-1] == pad
    assert tok.decode(ids) == text
    plain = tok.encode(text, allowed_special="none")
    assert eot not in plain and pad not in plain
    assert tok.decode(plain) == text
    only_eot = tok.encode(text, allowed_special={"<|endoftext|>"})
    assert eot in only_eot and pad not in only_eot
    with pytest.raises(ValueError, match="unregistered tokens"):
        tok.encode(text, allowed_special={"<|nope|>"})
    with pytest.raises(RuntimeError, match="train before add_special_tokens"):
        tok.train(SAMPLE, vocab_size=300)


def test_bpe_decode_partial_character():
    tok = BPETokenizer()
    ids = tok.encode("\u00e9")  # two bytes
    assert tok.decode(ids[:1]) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        tok.decode(ids[:1], errors="strict")


def test_bpe_errors(trained, tmp_path):
    with pytest.raises(ValueError, match=r"vocab_size must be >= 256 .* got 255"):
        BPETokenizer().train("abc", vocab_size=255)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer().train("abc", vocab_size=300.0)
    with pytest.raises(TypeError, match="text must be a str"):
        BPETokenizer().train(b"abc", vocab_size=300)
    message = r"BPETokenizer.decode: token id 400 at position 1 is out of range for vocab_size 400"
    with pytest.raises(ValueError, match=message):
        trained.decode([65, 400])
    with pytest.raises(ValueError, match="capturing groups"):
        BPETokenizer(pattern=r"(\w+)|\s+")
    with pytest.raises(ValueError, match="does not cover the whole text"):
        BPETokenizer(pattern=r"\w+").encode("hello world")
    with pytest.raises(ValueError, match="non-empty str"):
        BPETokenizer().add_special_tokens([""])
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "something else"}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not a saved BPETokenizer"):
        BPETokenizer.load(bad)
    bad.write_text(
        json.dumps({"type": "tinytorch.text.BPETokenizer", "version": 1, "pattern": None,
                    "merges": [[97, 98], [300, 1]], "special_tokens": {}}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"merge 1 .* must be two ids below 257"):
        BPETokenizer.load(bad)


# ---------------------------------------------------------------- helpers

_PROPERTY_TOKENIZER = []


def _tokenizer_for_property_tests():
    """A tokenizer trained on mixed-script text, shared across hypothesis examples."""
    if not _PROPERTY_TOKENIZER:
        tok = BPETokenizer()
        tok.train(SAMPLE + "\u00e9\u00e8\u00ea \u4e2d\u6587 \U0001f600\U0001f601 " * 20, vocab_size=420)
        _PROPERTY_TOKENIZER.append(tok)
    return _PROPERTY_TOKENIZER[0]


def _saved(tok, path):
    tok.save(path)
    return path


# ---------------------------------------------------------------- corpus

def test_corpus_is_small_readable_ascii_prose():
    from tinytorch.datasets import load_corpus

    text = load_corpus()
    assert isinstance(text, str)
    assert 30_000 < len(text) < 60_000
    assert text.isascii()
    assert not text.startswith("#") and "licensed" not in text[:2000]  # header stripped
    assert CharTokenizer(text).vocab_size < 80
    assert text.count("\n\n") > 100  # paragraphs
    assert load_corpus() is text  # read once


def test_bpe_on_corpus_compresses_and_round_trips(tmp_path):
    from tinytorch.datasets import load_corpus

    text = load_corpus()
    tok = BPETokenizer()
    tok.train(text, vocab_size=512)
    ids = tok.encode(text)
    assert len(ids) < len(text) / 2
    assert tok.decode(ids) == text
    loaded = BPETokenizer.load(_saved(tok, tmp_path / "corpus.json"))
    assert loaded.encode(text) == ids
