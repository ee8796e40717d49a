"""Byte-level byte-pair encoding (BPE), the tokenizer family of GPT-2 (after Karpathy's minbpe).

Text becomes UTF-8 bytes, i.e. ids 0..255. Training repeatedly gives the most frequent
adjacent pair of ids a new id, so common words end up as one token. Every string is a byte
sequence, so any text can be encoded, and decoding gives it back exactly.
"""

import heapq
import json
import operator
import re
import warnings
from collections import Counter, defaultdict

from ..seams import replaced, seam
from ._ids import as_token_ids

# GPT-2's pre-split pattern written for the standard library's `re`, which lacks \p{L} and
# \p{N}: [^\W\d_] means "letter", \d "digit", and (?:[^\s\w]|_) "neither space, letter nor
# digit". Pairs are only counted inside a chunk, so merges never glue a word to the space or
# punctuation after it.
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""

_FILE_TYPE = "tinytorch.text.BPETokenizer"
_CACHE_LIMIT = 100_000  # distinct chunks whose encodings are remembered
_LONG_CHUNK = 256  # bytes; longer chunks are encoded merge by merge (see _encode_chunk)
_NEVER = float("inf")  # rank of a pair that was never merged


@seam("get_pair_counts")
def count_pairs(ids, counts=None):
    """How often each adjacent pair of ids occurs, overlapping pairs included: [7, 7, 7] has
    (7, 7) twice. With `counts` given, adds into that dict (to sum over chunks) and returns it."""
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def _merge(ids, pair, new_id, removed=None, added=None):
    """`ids` with every non-overlapping occurrence of `pair`, left to right, replaced by `new_id`.

    If lists `removed` and `added` are given, the adjacent pairs that disappear and appear are
    appended to them (with repeats), which is all training needs to update its pair counts.
    """
    first, second = pair
    out = []
    start, n = 0, len(ids)
    while True:
        # list.index scans in C, so long runs without `first` cost almost nothing.
        try:
            i = ids.index(first, start)
        except ValueError:
            break
        if i + 1 == n:
            break
        if ids[i + 1] != second:
            out.extend(ids[start : i + 1])
            start = i + 1
            continue
        out.extend(ids[start:i])
        if removed is not None:
            removed.append(pair)
            if out:  # the left neighbour, possibly a new_id from the previous occurrence
                removed.append((out[-1], first))
                added.append((out[-1], new_id))
            if i + 2 < n:
                removed.append((second, ids[i + 2]))
                added.append((new_id, ids[i + 2]))
        out.append(new_id)
        start = i + 2
    out.extend(ids[start:])
    return out


@seam("merge")
def merge(ids, pair, new_id):
    """`ids` with every non-overlapping occurrence of `pair`, left to right, replaced by `new_id`."""
    return _merge(ids, pair, new_id)


class BPETokenizer:
    """Byte-level BPE tokenizer: `train`, then `encode`/`decode`; `save`/`load` as JSON.

    `pattern` is the regular expression (stdlib `re`) that pre-splits text into chunks;
    None trains on the raw byte stream, as minbpe's BasicTokenizer does (merges then cross
    word boundaries).

    >>> tok = BPETokenizer()
    >>> tok.train("low lower lowest " * 50, vocab_size=260)
    >>> tok.decode(tok.encode("lowest low"))
    'lowest low'
    """

    def __init__(self, pattern=GPT2_SPLIT_PATTERN):
        splitter = re.compile(pattern) if pattern is not None else None
        if splitter is not None and splitter.groups:
            # findall would return the groups instead of the whole matches.
            raise ValueError(
                f"BPETokenizer: pattern must not contain capturing groups (use (?:...)), "
                f"got {splitter.groups} in {pattern!r}"
            )
        self.pattern = pattern
        self._splitter = splitter
        self.merges = {}  # (id, id) -> new id; dicts keep insertion order = training order
        self.special_tokens = {}  # str -> id, numbered after the merges
        self._rebuild()

    def _rebuild(self):
        """Recompute the byte string of every id, and reset caches, after merges change."""
        vocab = [bytes([i]) for i in range(256)]
        for (first, second), new_id in self.merges.items():
            assert new_id == len(vocab), "merge ids must be consecutive from 256"
            vocab.append(vocab[first] + vocab[second])
        for token, token_id in sorted(self.special_tokens.items(), key=lambda item: item[1]):
            assert token_id == len(vocab), "special token ids must follow the merges"
            vocab.append(token.encode("utf-8"))
        self.vocab = vocab  # id -> bytes
        self._cache = {}
        # Longest first, so one special token that is a prefix of another never wins.
        specials = sorted(self.special_tokens, key=len, reverse=True)
        self._special_splitter = (
            re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None
        )

    @property
    def vocab_size(self):
        return len(self.vocab)

    def _chunks(self, text):
        if self._splitter is None:
            return [text] if text else []
        chunks = self._splitter.findall(text)
        # Matches never overlap, so equal total length means the chunks cover the whole text.
        if sum(map(len, chunks)) != len(text):
            raise ValueError(
                f"BPETokenizer: split pattern {self.pattern!r} does not cover the whole text "
                f"({sum(map(len, chunks))} of {len(text)} characters matched), so decoding "
                f"could not reproduce it"
            )
        return chunks

    # ---------------------------------------------------------------- training

    def train(self, text, vocab_size, verbose=False):
        """Learn `vocab_size - 256` merges from `text` (a str).

        Pair counts are updated incrementally: after a merge only the chunks that contained
        the pair are rewritten, and a heap finds the next most frequent pair. Ties go to the
        smallest pair of ids, so training is deterministic. If every chunk has become a
        single token before `vocab_size` is reached, training stops there with a warning.
        """
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.train: text must be a str, got {type(text).__name__}")
        try:
            vocab_size = operator.index(vocab_size)
        except TypeError:
            raise TypeError(f"BPETokenizer.train: vocab_size must be an int, got {vocab_size!r}") from None
        if vocab_size < 256:
            raise ValueError(
                f"BPETokenizer.train: vocab_size must be >= 256 (the 256 byte values are the base "
                f"vocabulary), got {vocab_size}"
            )
        if self.special_tokens:
            raise RuntimeError(
                "BPETokenizer.train: train before add_special_tokens (special token ids follow the merges)"
            )

        chunk_counts = Counter(self._chunks(text))  # identical chunks are processed once
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        pair_counts = defaultdict(int)  # (id, id) -> occurrences in the text
        where = defaultdict(set)  # (id, id) -> indices of the words containing it
        for index, (word, freq) in enumerate(zip(words, freqs)):
            for pair, count in replaced.get("get_pair_counts", count_pairs)(word).items():
                pair_counts[pair] += count * freq
                where[pair].add(index)
        heap = [(-count, pair) for pair, count in pair_counts.items()]
        heapq.heapify(heap)

        merges = {}
        token_bytes = [bytes([i]) for i in range(256)]  # only for verbose printing
        for new_id in range(256, vocab_size):
            # Heap entries go stale when a count changes; the current one matches the count.
            while heap:
                negative_count, pair = heapq.heappop(heap)
                if pair_counts.get(pair) == -negative_count:
                    break
            else:
                warnings.warn(
                    f"BPETokenizer.train: every chunk of the text is a single token after "
                    f"{new_id - 256} merges, so training stopped at vocab_size {new_id} "
                    f"instead of {vocab_size}",
                    stacklevel=2,
                )
                break
            count = -negative_count
            merges[pair] = new_id
            changed = set()
            for index in where.pop(pair):
                removed, added = [], []
                words[index] = _merge(words[index], pair, new_id, removed, added)
                # A stale index entry (an earlier merge consumed the pair) changes nothing.
                freq = freqs[index]
                for old in removed:
                    pair_counts[old] -= freq
                for new in added:
                    pair_counts[new] += freq
                    where[new].add(index)
                changed.update(removed)
                changed.update(added)
            for changed_pair in changed:
                changed_count = pair_counts[changed_pair]
                if changed_count > 0:
                    heapq.heappush(heap, (-changed_count, changed_pair))
                else:
                    del pair_counts[changed_pair]
            if verbose:
                token_bytes.append(token_bytes[pair[0]] + token_bytes[pair[1]])
                text_of_token = token_bytes[new_id].decode("utf-8", errors="replace")
                print(
                    f"merge {new_id - 255}/{vocab_size - 256}: {pair} -> {new_id} "
                    f"{text_of_token!r} ({count} occurrences)"
                )
        self.merges = merges
        self._rebuild()

    # ---------------------------------------------------------------- special tokens

    def add_special_tokens(self, tokens):
        """Give each string in `tokens` (e.g. "<|endoftext|>") its own id after the merges.

        Returns their ids. A special token is encoded as that single id wherever it appears in
        the text (see `encode`'s `allowed_special`).
        """
        if isinstance(tokens, str):
            tokens = [tokens]
        ids = []
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise ValueError(
                    f"BPETokenizer.add_special_tokens: tokens must be non-empty str, got {token!r}"
                )
            if token not in self.special_tokens:
                self.special_tokens[token] = self.vocab_size
                self._rebuild()
            ids.append(self.special_tokens[token])
        return ids

    # ---------------------------------------------------------------- encode / decode

    def _encode_chunk(self, data):
        """Ids of one chunk's bytes: the merges applied in training order, as training did."""
        ids = list(data)
        merges = self.merges
        merge_pair = replaced.get("merge", merge)  # the learner's after tinytorch.mine.use()
        if len(ids) > _LONG_CHUNK:
            # Long chunk (e.g. pattern=None): one C-speed pass per merge beats a Python
            # scan over all pairs per merge; applying every merge in order gives the same ids.
            for pair, new_id in merges.items():
                ids = merge_pair(ids, pair, new_id)
            return ids
        while len(ids) >= 2:
            # The pair with the earliest merge (smallest new id) must be merged first.
            pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, _NEVER))
            if pair not in merges:
                break
            ids = merge_pair(ids, pair, merges[pair])
        return ids

    def _encode_ordinary(self, text, ids):
        cache = self._cache
        for chunk in self._chunks(text):
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = self._encode_chunk(chunk.encode("utf-8"))
                if len(cache) < _CACHE_LIMIT:
                    cache[chunk] = chunk_ids
            ids.extend(chunk_ids)

    def encode(self, text, allowed_special="all"):
        """Token ids of `text` (list of int).

        `allowed_special`: "all" turns registered special tokens in the text into their ids,
        "none" encodes them as ordinary text, or pass a set of the special tokens to allow.
        """
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected a str, got {type(text).__name__}")
        if allowed_special == "all":
            allowed = set(self.special_tokens)
        elif allowed_special == "none":
            allowed = set()
        else:
            allowed = set(allowed_special)
            unknown = allowed - set(self.special_tokens)
            if unknown:
                raise ValueError(
                    f"BPETokenizer.encode: allowed_special names unregistered tokens {sorted(unknown)}; "
                    f"registered: {sorted(self.special_tokens)}"
                )
        ids = []
        if not allowed:
            self._encode_ordinary(text, ids)
            return ids
        # The capturing group keeps the separators: even items are text, odd ones special tokens.
        for i, part in enumerate(self._special_splitter.split(text)):
            if i % 2 and part in allowed:
                ids.append(self.special_tokens[part])
            else:
                self._encode_ordinary(part, ids)
        return ids

    def decode(self, ids, errors="replace"):
        """The string for token ids (list, NumPy array or Tensor).

        A sequence a model generated may cut a multi-byte character in half; `errors`
        ("replace", "strict", ... as in `bytes.decode`) says what to do then.
        """
        ids = as_token_ids(ids, self.vocab_size, "BPETokenizer.decode")
        vocab = self.vocab
        return b"".join([vocab[i] for i in ids.tolist()]).decode("utf-8", errors=errors)

    # ---------------------------------------------------------------- persistence

    def save(self, path):
        """Write the tokenizer to `path` as JSON (pattern, merges in order, special tokens)."""
        state = {
            "type": _FILE_TYPE,
            "version": 1,
            "pattern": self.pattern,
            "merges": [list(pair) for pair in self.merges],
            "special_tokens": self.special_tokens,
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        """A tokenizer read from a file written by `save`: `tok = BPETokenizer.load(path)`."""
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        if not isinstance(state, dict) or state.get("type") != _FILE_TYPE:
            raise ValueError(f"BPETokenizer.load: {path} is not a saved BPETokenizer")
        if state.get("version") != 1:
            raise ValueError(f"BPETokenizer.load: {path} has unsupported version {state.get('version')!r}")
        tokenizer = cls(pattern=state["pattern"])
        merges = {}
        for new_id, pair in enumerate(state["merges"], start=256):
            if (
                not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(i, int) and 0 <= i < new_id for i in pair)
            ):
                raise ValueError(
                    f"BPETokenizer.load: merge {new_id - 256} in {path} must be two ids below "
                    f"{new_id}, got {pair!r}"
                )
            if tuple(pair) in merges:
                raise ValueError(f"BPETokenizer.load: merge {new_id - 256} in {path} repeats pair {pair!r}")
            merges[tuple(pair)] = new_id
        special_ids = sorted(state["special_tokens"].values())
        expected = list(range(256 + len(merges), 256 + len(merges) + len(special_ids)))
        if special_ids != expected:
            raise ValueError(
                f"BPETokenizer.load: special token ids in {path} must be {expected}, got {special_ids}"
            )
        tokenizer.merges = merges
        tokenizer.special_tokens = dict(state["special_tokens"])
        tokenizer._rebuild()
        return tokenizer

    def __repr__(self):
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={len(self.special_tokens)})"
        )


# ---------------------------------------------------------------------- module 10's interfaces
# BPE as functions of (text, merges), the exercises' form of what BPETokenizer does with
# GPT-2 pre-splitting (its training counts pairs incrementally, so it never calls train_bpe).

def train_bpe(text, vocab_size):
    """{(a, b): new id} of the `vocab_size - 256` merges BPETokenizer learns from `text`, in order."""
    tokenizer = BPETokenizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a text too small for vocab_size: fewer merges
        tokenizer.train(text, vocab_size)
    return tokenizer.merges


def with_merges(merges, pattern=GPT2_SPLIT_PATTERN):
    """A BPETokenizer that applies `merges` ({(a, b): new id})."""
    tokenizer = BPETokenizer(pattern=pattern)
    tokenizer.merges = dict(merges)
    tokenizer._rebuild()
    return tokenizer


def bpe_encode(text, merges):
    """Token ids of `text` under `merges`."""
    return with_merges(merges).encode(text)


def bpe_decode(ids, merges):
    """The text of token `ids` under `merges` (an incomplete character becomes U+FFFD)."""
    return with_merges(merges).decode(ids)
