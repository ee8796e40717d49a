"""The module 10 checks pass on correct tokenizer code and fail, with a useful report, on an
unsolved stub and on typical mistakes."""

import re

import pytest

import tinytorch as tt
from tinytorch.checks import text as checks
from tinytorch.text import GPT2_SPLIT_PATTERN

from solutions import load_solution


# ------------------------------------------------------------------ correct solutions

class CharTokenizer:
    def __init__(self, text, order=sorted, unknown=ValueError):
        self.itos = list(order(set(text)))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        self.unknown = unknown

    @property
    def vocab_size(self):
        return len(self.itos)

    def encode(self, text):
        for ch in text:
            if ch not in self.stoi:
                raise self.unknown(f"unknown character {ch!r}")
        return [self.stoi[ch] for ch in text]

    def decode(self, ids):
        return "".join(self.itos[int(i)] for i in ids)


# The notebook's own solutions, so the course as shipped is what passes the checks.
get_pair_counts = load_solution("10_tokenization", "get_pair_counts")


def merge(ids, pair, new_id, overlapping=False, drop_last=False):
    if overlapping:  # replaces each id that starts the pair, but keeps the second one as well
        return [new_id if (a, b) == pair else a for a, b in zip(ids, ids[1:])] + ids[-1:]
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            if not (drop_last and i == len(ids) - 1):
                out.append(ids[i])
            i += 1
    return out


def train_bpe(text, vocab_size, chunked=True, ties=True, first_id=256):
    chunks = {}
    for chunk in (re.findall(GPT2_SPLIT_PATTERN, text) if chunked else [text]):
        chunks[chunk] = chunks.get(chunk, 0) + 1
    words = [list(chunk.encode("utf-8")) for chunk in chunks]
    freqs = list(chunks.values())
    merges = {}
    for new_id in range(first_id, first_id + vocab_size - 256):
        counts = {}
        for word, freq in zip(words, freqs):
            for pair in zip(word, word[1:]):
                counts[pair] = counts.get(pair, 0) + freq
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p)) if ties else max(counts, key=counts.get)
        merges[pair] = new_id
        words = [merge(w, pair, new_id) for w in words]
    return merges


def encode(text, merges, chunked=True, rank=True):
    out = []
    for chunk in (re.findall(GPT2_SPLIT_PATTERN, text) if chunked else [text]):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            pairs = [p for p in zip(ids, ids[1:]) if p in merges]
            if not pairs:
                break
            pair = min(pairs, key=merges.get) if rank else pairs[0]
            ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out


def decode(ids, merges, errors="replace", per_token=False):
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), new in merges.items():
        vocab[new] = vocab[a] + vocab[b]
    if per_token:
        return "".join(vocab[int(i)].decode("utf-8", errors="replace") for i in ids)
    return b"".join(vocab[int(i)] for i in ids).decode("utf-8", errors=errors)


class StubTokenizer:
    def __init__(self, text):
        raise NotImplementedError("Exercise: build the vocabulary")


@pytest.mark.parametrize("check, solution, unsolved", [
    (checks.check_char_tokenizer, CharTokenizer, StubTokenizer),
    (checks.check_pair_counts, get_pair_counts, None),  # None: the shared stub function
    (checks.check_merge, merge, None),
    (checks.check_train_bpe, train_bpe, None),
    (checks.check_bpe_encode, encode, None),
    (checks.check_bpe_decode, decode, None),
])
def test_solution_passes_and_stub_fails(check, solution, unsolved, passes_and_stub_fails):
    passes_and_stub_fails(check, solution, unsolved)


def test_the_library_char_tokenizer_passes():
    checks.check_char_tokenizer(tt.text.CharTokenizer)


# ------------------------------------------------------------------ typical mistakes

def pair_counts_by_twos(ids, counts=None):
    counts = {} if counts is None else counts
    for pair in zip(ids[::2], ids[1::2]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


@pytest.mark.parametrize("check, wrong, message", [
    pytest.param(checks.check_char_tokenizer, lambda text: CharTokenizer(text, order=lambda s: list(dict.fromkeys(text))),
                 "code-point order", id="vocabulary_in_first_seen_order"),
    pytest.param(checks.check_char_tokenizer, lambda text: CharTokenizer(text, unknown=KeyError),
                 "expected ValueError, got KeyError", id="key_error_for_unknown_characters"),
    pytest.param(checks.check_pair_counts, pair_counts_by_twos, None, id="non_overlapping_pair_counts"),
    pytest.param(checks.check_pair_counts, lambda ids, counts=None: get_pair_counts(ids),
                 "add into it", id="pair_counts_ignoring_the_given_dict"),
    pytest.param(checks.check_merge, lambda *a: merge(*a, overlapping=True), r"skip both ids", id="overlapping_merge"),
    pytest.param(checks.check_merge, lambda *a: merge(*a, drop_last=True), "ids expected", id="merge_dropping_the_last_id"),
    pytest.param(checks.check_train_bpe, lambda t, v: train_bpe(t, v, ties=False), "smallest pair",
                 id="training_without_tie_breaking"),
    pytest.param(checks.check_train_bpe, lambda t, v: train_bpe(t, v, chunked=False), "chunks first",
                 id="training_across_chunks"),
    pytest.param(checks.check_train_bpe, lambda t, v: train_bpe(t, v, first_id=257), "256 \\+ k",
                 id="training_ids_off_by_one"),
    pytest.param(checks.check_bpe_encode, lambda t, m: encode(t, m, rank=False), "smallest merges",
                 id="encode_merging_leftmost_pair_first"),
    pytest.param(checks.check_bpe_encode, lambda t, m: encode(t, m, chunked=False), "chunks", id="encode_without_chunks"),
    pytest.param(checks.check_bpe_decode, lambda ids, m: decode(ids, m, errors="strict"), "cut inside",
                 id="strict_decoding_on_a_cut_character"),
    pytest.param(checks.check_bpe_decode, lambda ids, m: decode(ids, m, per_token=True), "join the bytes",
                 id="decoding_token_by_token"),
])
def test_mistakes_fail(check, wrong, message, failure):
    failure(check, wrong, message)
