"""tinytorch.nn.utils: gradient clipping and parameter flattening helpers."""
