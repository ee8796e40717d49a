"""Seedable random number generation shared by creation functions, init and data loading."""

import numpy as np


class Generator:
    """A seedable source of randomness, like `torch.Generator` (wraps `np.random.Generator`)."""

    def __init__(self, seed=None):
        self.rng = np.random.default_rng(seed)

    def manual_seed(self, seed):
        """Reseed this generator and return it (so `Generator().manual_seed(0)` works)."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {seed!r}")
        self.rng = np.random.default_rng(int(seed))
        return self


default_generator = Generator(0)


def manual_seed(seed):
    """Seed the default generator used when no `generator=` is passed."""
    return default_generator.manual_seed(seed)


def rng_of(generator=None):
    """The NumPy generator behind `generator`, or the default one."""
    return (generator or default_generator).rng
