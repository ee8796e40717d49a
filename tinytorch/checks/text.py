"""Checks for module 10 (tokenization): a character tokenizer and the core of byte-level BPE,
compared with `tinytorch.text` on varied text, including multi-byte Unicode.

    CharTokenizer(text): .vocab_size, .encode(str) -> list of int, .decode(ids) -> str
    get_pair_counts(ids, counts=None) -> dict {(a, b): count}
    merge(ids, pair, new_id) -> list of int
    train_bpe(text, vocab_size) -> dict {(a, b): new id}, in the order learned
    encode(text, merges) -> list of int
    decode(ids, merges) -> str
"""

import warnings

import numpy as np

from ..text import GPT2_SPLIT_PATTERN, BPETokenizer, CharTokenizer as _LibraryChar
from ..text import bpe
from ..text.bpe import with_merges as _tokenizer_with
from ..course import registry
from .core import add_hints, expect_error, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'CharTokenizer': (
        'the vocabulary is the set of characters seen in training, in sorted order; ids are positions in it',
        'two tables: id to character (a sorted list) and character to id (a dict)',
        'encode maps each character through the dict (ValueError for an unknown one); decode joins the characters of the ids',
    ),
    'get_pair_counts': (
        'count how often each pair of neighbouring ids occurs',
        'the result is a dict from (id, next id) to a count; update the given dict when one is passed',
        "walk over consecutive pairs and add 1 to each pair's count",
    ),
    'merge': (
        'replace every occurrence of the pair by the new id, scanning left to right',
        'the result is a new list, shorter by one for each replaced pair; occurrences do not overlap',
        'at each position: if it and the next id form the pair, emit the new id and skip two; else emit the id and move one',
    ),
    'train_bpe': (
        'repeatedly merge the most frequent neighbouring pair into a new token',
        'start from UTF-8 bytes (ids 0-255) of each regex chunk; new ids count up from 256 until vocab_size; pairs never cross chunks',
        'each round: count pairs over all chunks; stop if none; pick the most frequent (ties: the smallest pair); record it and merge it in every chunk',
    ),
    'bpe_encode': (
        'apply the learned merges to new text in the order they were learned',
        'per chunk, start from its UTF-8 bytes; the merge rank of a pair is its new id',
        'repeat: among the neighbouring pairs, find the one with the lowest rank in merges; stop if none is in merges; merge it',
    ),
    'bpe_decode': (
        'each token stands for a byte string; concatenate them and decode',
        "the 256 byte tokens map to single bytes; a merged token's bytes are its two parts' bytes joined",
        'build the id to bytes table in merge order, join the bytes of every id, decode UTF-8 replacing invalid bytes',
    ),
})

exercise = registry.module("10_tokenization", "Tokenization")

UNICODE_TEXT = "naïve café, Straße, Ελληνικά, 日本語, emoji 🙂👍🏽 and e\u0301 (a combining accent)"


def _as_int_list(name, case, got):
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if not isinstance(got, (list, tuple)) or not all(isinstance(i, (int, np.integer)) for i in got):
        fail(name, case, f"expected a list of ints, got {type(got).__name__} {got!r:.80}", "return a list of token ids")
    return [int(i) for i in got]


def _first_difference(got, expected):
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            return i
    return min(len(got), len(expected))


def _compare_ids(name, case, got, expected, hint):
    got = _as_int_list(name, case, got)
    if got != expected:
        i = _first_difference(got, expected)
        fail(name, case, f"{len(expected)} ids expected, got {len(got)}; first difference at position {i}: "
             f"expected {expected[i:i + 6]}, got {got[i:i + 6]}", hint)


def _compare_text(name, case, got, expected, hint):
    if not isinstance(got, str):
        fail(name, case, f"expected a str, got {type(got).__name__} {got!r:.60}", hint)
    if got != expected:
        i = _first_difference(got, expected)
        fail(name, case, f"expected {expected!r:.80}, got {got!r:.80} (first difference at character {i}: "
             f"expected {expected[i:i + 1]!r}, got {got[i:i + 1]!r})", hint)


# ---------------------------------------------------------------------- characters


@exercise("CharTokenizer", tinytorch="tinytorch.text:CharTokenizer")
def check_char_tokenizer(CharTokenizer):
    """CharTokenizer(text): ids are the ranks of the distinct characters in code-point order."""
    name = "CharTokenizer"
    cases = [
        ("hello world", "hello world", ["hello", "world", "", "dlrow olleh"]),
        ("corpus-like text with punctuation and digits",
         "The model read 3 books.\nThen it wrote: 'Hello, world!'", ["read 3", "Hello!\n"]),
        ("Unicode (accents, Greek, CJK, emoji)", UNICODE_TEXT, ["café", "日本", "🙂👍🏽", "e\u0301"]),
        ("a single character", "aaaa", ["a", "aa"]),
    ]
    for case, text, samples in cases:
        tok = run_learner(name, case, CharTokenizer, text)
        ref = _LibraryChar(text)
        size = run_learner(name, case + ", vocab_size", lambda: tok.vocab_size)
        if size != ref.vocab_size:
            fail(name, case, f"vocab_size expected {ref.vocab_size} (distinct characters), got {size}",
                 "the vocabulary is sorted(set(text))")
        for sample in samples + [text]:
            where = f"{case}, encode({sample!r:.30})"
            got = run_learner(name, where, tok.encode, sample)
            _compare_ids(name, where, got, ref.encode(sample),
                         "id = position of the character in sorted(set(text)) (code-point order)")
            ids = ref.encode(sample)
            for kind, arg in (("list", ids), ("NumPy array", np.array(ids, dtype=np.int64))):
                where = f"{case}, decode({kind} of {len(ids)} ids)"
                back = run_learner(name, where, tok.decode, arg)
                _compare_text(name, where, back, sample, "''.join(itos[i] for i in ids)")
    tok = run_learner(name, "unknown character", CharTokenizer, "abc")
    expect_error(name, "encode('abz') with a vocabulary built from 'abc'", lambda: tok.encode("abz"),
                  hint="raise ValueError naming the character that is not in the vocabulary")
    passed(name, len(cases) + 1, [c for c, *_ in cases] + ["unknown character raises ValueError"])


# ---------------------------------------------------------------------- BPE core


@exercise("get_pair_counts", seam="get_pair_counts")
def check_pair_counts(get_pair_counts):
    """get_pair_counts(ids, counts=None): how often each adjacent pair occurs (overlaps count);
    with `counts` given, add to that dict and return it."""
    name = "get_pair_counts"
    rng = np.random.default_rng(14)
    hint = "for pair in zip(ids, ids[1:]): counts[pair] = counts.get(pair, 0) + 1"
    cases = [
        ("[1, 2, 3, 1, 2]", [1, 2, 3, 1, 2]),
        ("a run [7, 7, 7, 7] (overlapping pairs)", [7, 7, 7, 7]),
        ("bytes of 'banana'", list(b"banana")),
        ("one id", [5]),
        ("empty", []),
        ("1,000 random ids < 20", rng.integers(0, 20, 1000).tolist()),
    ]
    for case, ids in cases:
        got = run_learner(name, case, get_pair_counts, list(ids))
        expected = bpe.count_pairs(ids)
        if not isinstance(got, dict):
            fail(name, case, f"expected a dict, got {type(got).__name__}", hint)
        got = {tuple(int(i) for i in k): int(v) for k, v in got.items()}
        if got != expected:
            wrong = sorted(set(got.items()) ^ set(expected.items()))[:3]
            fail(name, case, f"expected {dict(list(expected.items())[:6])}..., differing entries {wrong}", hint)
    case = "adding to an existing dict"
    existing = {(1, 2): 5, (9, 9): 1}
    got = run_learner(name, case, get_pair_counts, [1, 2, 1, 2], existing)
    if got is not existing or existing != {(1, 2): 7, (9, 9): 1, (2, 1): 1}:
        fail(name, case, f"expected the same dict, updated to {{(1, 2): 7, (9, 9): 1, (2, 1): 1}}, got {got!r:.80}",
             "with counts given, add into it (do not start a new dict) and return it: training sums over chunks this way")
    passed(name, len(cases) + 1, [c for c, _ in cases] + [case])


@exercise("merge", seam="merge")
def check_merge(merge):
    """merge(ids, pair, new_id): every non-overlapping occurrence of `pair`, left to right,
    replaced by `new_id`; a new list (the input is left unchanged)."""
    name = "merge"
    rng = np.random.default_rng(15)
    hint = ("walk with an index i: if ids[i], ids[i + 1] is the pair, append new_id and skip 2, "
            "else append ids[i] and move 1; mind the last element")
    big = rng.integers(0, 4, 2000).tolist()
    cases = [
        ("two occurrences", [1, 2, 3, 1, 2], (1, 2), 99),
        ("overlapping run [7, 7, 7] with (7, 7)", [7, 7, 7], (7, 7), 256),
        ("run [7, 7, 7, 7] with (7, 7)", [7, 7, 7, 7], (7, 7), 256),
        ("pair at the very end", [5, 1, 2], (1, 2), 300),
        ("first id at the end only", [2, 1], (1, 2), 300),
        ("pair absent", [3, 4, 5], (1, 2), 300),
        ("one id", [1], (1, 2), 300),
        ("empty", [], (1, 2), 300),
        ("2,000 random ids < 4 with (1, 2)", big, (1, 2), 256),
    ]
    for case, ids, pair, new_id in cases:
        original = list(ids)
        got = run_learner(name, case, merge, ids, pair, new_id)
        if ids != original:
            fail(name, case, "the input list was modified", "build a new list")
        expected = bpe.merge(original, pair, new_id)
        got = _as_int_list(name, case, got)
        h = hint
        if len(got) > len(expected):
            h = ("after a merge, skip both ids of the pair (and do not copy them too): "
                 "[7, 7, 7] with (7, 7) -> [256, 7]")
        _compare_ids(name, case, got, expected, h)
    passed(name, len(cases), [c for c, *_ in cases])


def _library_merges(text, vocab_size, pattern=GPT2_SPLIT_PATTERN):
    tok = BPETokenizer(pattern=pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok.train(text, vocab_size)
    return tok.merges


def _token_text(merges, token_id):
    return _tokenizer_with(merges).decode([token_id])


TRAIN_TEXTS = [
    ("'low lower lowest newer wider' x 10, vocab 280", "low lower lowest newer wider " * 10, 280),
    ("ties: every pair once, vocab 262", "ab cd ef gh", 262),
    ("Unicode text x 5, vocab 300", (UNICODE_TEXT + " ") * 5, 300),
    ("punctuation and digits, vocab 290", "The year 1957: 'perceptron'. The year 1986: 'backprop'! " * 4, 290),
    ("more merges than possible ('aaaa'), vocab 300", "aaaa", 300),
    ("vocab 256: no merges", "hello hello", 256),
]


@exercise("train_bpe", tinytorch="tinytorch.text.bpe:train_bpe")
def check_train_bpe(train_bpe):
    """train_bpe(text, vocab_size): the merges {(a, b): new_id} learned in order, as
    BPETokenizer.train learns them (chunks from GPT2_SPLIT_PATTERN, ties to the smallest pair)."""
    name = "train_bpe"
    for case, text, vocab_size in TRAIN_TEXTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = run_learner(name, case, train_bpe, text, vocab_size)
        expected = _library_merges(text, vocab_size)
        if not isinstance(got, dict):
            fail(name, case, f"expected a dict {{(a, b): new_id}}, got {type(got).__name__}")
        got_items = [(tuple(int(i) for i in pair), int(new)) for pair, new in got.items()]
        exp_items = list(expected.items())
        if got_items == exp_items:
            continue
        i = _first_difference(got_items, exp_items)
        if i >= len(exp_items):
            fail(name, case, f"expected {len(exp_items)} merges, got {len(got_items)}",
                 "stop when vocab_size is reached, or earlier when no pair is left to merge (every chunk is one token)")
        if i >= len(got_items):
            fail(name, case, f"expected {len(exp_items)} merges, got only {len(got_items)}",
                 "keep merging until there are vocab_size - 256 merges (or no pairs are left)")
        (pair, new), (got_pair, got_new) = exp_items[i], got_items[i]
        hint = "count pairs over all chunks (re.findall(GPT2_SPLIT_PATTERN, text)), merge the most frequent everywhere"
        if got_new != new:
            hint = "new ids are consecutive: the k-th merge (from 0) gets id 256 + k"
        elif got_pair in expected and expected[got_pair] > new:
            hint = "on equal counts, take the smallest pair (compare the tuples): max over key (count, -a, -b), or sort"
        elif list(_library_merges(text, vocab_size, pattern=None).items())[i:i + 1] == [(got_pair, got_new)]:
            hint = "split the text into chunks first; pairs never cross chunk boundaries"
        fail(name, case, f"merge {i} (id {new}): expected {pair} -> {new} ({_token_text(expected, new)!r}), "
             f"got {got_pair} -> {got_new}", hint)
    passed(name, len(TRAIN_TEXTS), [c.split(",")[0] for c, *_ in TRAIN_TEXTS])


def _encode_cases():
    corpus = "low lower lowest newer wider " * 10
    merges = _library_merges(corpus, 280)
    unicode_merges = _library_merges((UNICODE_TEXT + " ") * 5, 300)
    return [
        ("the training text", corpus, merges),
        ("unseen words", "slower lowly newest widest", merges),
        ("whitespace runs and newlines", "low  lower\n\n  lowest\t wider ", merges),
        ("text with characters never seen in training", "Lower! 🙂 ñew", merges),
        ("Unicode text", UNICODE_TEXT, unicode_merges),
        ("empty string", "", merges),
        ("no merges at all", "plain bytes: é", {}),
        ("merge order matters: (b, c) learned before (a, b)", "abc cab abcabc", {(98, 99): 256, (97, 98): 257}),
        ("merges learned without chunks ('w ' must not merge across chunks)", "slow  low, wider newer",
         _library_merges(corpus, 300, pattern=None)),
    ]


@exercise("bpe_encode", tinytorch="tinytorch.text.bpe:bpe_encode")
def check_bpe_encode(encode):
    """encode(text, merges): chunks by GPT2_SPLIT_PATTERN; in each chunk's UTF-8 bytes, merge
    the pair with the lowest id (learned first) until no pair of the chunk has a merge."""
    name = "bpe_encode"
    for case, text, merges in _encode_cases():
        got = run_learner(name, case, encode, text, dict(merges))
        expected = _tokenizer_with(merges).encode(text)
        hint = ("per chunk: ids = list(chunk.encode('utf-8')); while some adjacent pair is in merges, merge the "
                "one with the smallest merges[pair] (the earliest learned), then the next")
        got_list = _as_int_list(name, case, got)
        if got_list != expected and got_list == _tokenizer_with(merges, pattern=None).encode(text):
            hint = "split the text into chunks with re.findall(GPT2_SPLIT_PATTERN, text) first, as training did"
        _compare_ids(name, case, got_list, expected, hint)
    cases = _encode_cases()
    passed(name, len(cases), [c for c, *_ in cases])


@exercise("bpe_decode", tinytorch="tinytorch.text.bpe:bpe_decode")
def check_bpe_decode(decode):
    """decode(ids, merges): the bytes of every token joined, decoded as UTF-8 with
    errors='replace' (a sequence may end in the middle of a character)."""
    name = "bpe_decode"
    hint = "vocab = {i: bytes([i])}, then vocab[new] = vocab[a] + vocab[b] in merge order; b''.join(...).decode('utf-8', errors='replace')"
    cases = _encode_cases()
    for case, text, merges in cases:
        ids = _tokenizer_with(merges).encode(text)
        for kind, arg in (("list", ids), ("NumPy array", np.array(ids, dtype=np.int64))):
            where = f"{case} ({kind} of {len(ids)} ids)"
            got = run_learner(name, where, decode, arg, dict(merges))
            h = hint
            if isinstance(got, str) and "\ufffd" in got and "\ufffd" not in text:
                h = ("join the bytes of all tokens first, then decode once: a character's bytes may be split "
                     "over several tokens")
            _compare_text(name, where, got, text, h)
    case = "a sequence cut inside a multi-byte character ('café' without its last byte)"
    cut = list("café".encode("utf-8"))[:-1]
    got = run_learner(name, case, decode, cut, {})
    _compare_text(name, case, got, _tokenizer_with({}).decode(cut),
                  "decode with errors='replace': an incomplete character becomes '\\ufffd' instead of raising")
    passed(name, len(cases) + 1, [c for c, *_ in cases] + ["cut multi-byte character"])
