"""Character-level tokenizer: one token per distinct character of a text, as in char-level GPTs."""

import numpy as np

from ._ids import as_token_ids


def _code_points(text):
    """The Unicode code points of `text` as a uint32 array, one per character."""
    # UTF-32 is one 4-byte unit per character, so the bytes *are* the code points;
    # surrogatepass lets even lone surrogates through (Python strings may hold them).
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokenizer:
    """Maps each distinct character of `text` to an id, in code-point order.

    `unk` (a single character, or None) is the stand-in for characters not in the
    vocabulary; it is added to the vocabulary if `text` lacks it. Without `unk`, encoding an
    unknown character raises a ValueError naming it.

    >>> tok = CharTokenizer("hello")
    >>> tok.encode("hell"), tok.decode([3, 1])
    ([1, 0, 2, 2], 'oh')
    """

    def __init__(self, text, unk=None):
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer: text must be a str, got {type(text).__name__}")
        if unk is not None and (not isinstance(unk, str) or len(unk) != 1):
            raise ValueError(f"CharTokenizer: unk must be a single character or None, got {unk!r}")
        chars = set(text) | ({unk} if unk is not None else set())
        if not chars:
            raise ValueError(
                "CharTokenizer: text is empty, so there are no characters to build a vocabulary from"
            )
        self.itos = sorted(chars)  # code-point order, so ids are the ranks of code points
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        self.unk = unk
        self._codes = _code_points("".join(self.itos))  # (V,) sorted ascending

    @classmethod
    def from_text(cls, text, unk=None):
        """Same as `CharTokenizer(text, unk)`."""
        return cls(text, unk=unk)

    @property
    def vocab_size(self):
        return len(self.itos)

    def encode(self, text):
        """Token ids of `text`, one per character."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        codes = _code_points(text)  # (N,)
        ids = np.searchsorted(self._codes, codes)  # rank of each character in the vocabulary
        known = self._codes[np.minimum(ids, len(self._codes) - 1)] == codes
        if not known.all():
            if self.unk is None:
                position = int(np.argmin(known))
                raise ValueError(
                    f"CharTokenizer.encode: character {text[position]!r} (U+{ord(text[position]):04X}) "
                    f"at position {position} is not in the vocabulary of {self.vocab_size} characters; "
                    f"build the tokenizer from text that contains it or pass unk='?'"
                )
            ids[~known] = self.stoi[self.unk]
        return ids.tolist()

    def decode(self, ids):
        """The string for token ids (list, NumPy array or Tensor)."""
        ids = as_token_ids(ids, self.vocab_size, "CharTokenizer.decode")
        return self._codes[ids].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"
