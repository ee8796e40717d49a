"""Derive tinytorch/datasets/digits.npz from scikit-learn's bundled digits (run once).

The library itself never imports scikit-learn: this script freezes the data and a seeded,
stratified train/test split into a small file that ships in the wheel.

    python scripts/make_digits.py           # (re)write the file
    python scripts/make_digits.py --check   # verify the committed file matches

The archive is written with fixed zip timestamps so re-running it yields identical bytes.
"""

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = Path(__file__).resolve().parent.parent / "tinytorch" / "datasets" / "digits.npz"
TEST_SIZE = 360  # 1,437 train / 360 test (20 %)
SEED = 0


def build():
    """The arrays to store: uint8 images in 0..16, int64-compatible labels, split indices."""
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values are integers 0..16
    assert np.array_equal(images, digits.images), "pixels are not integers in 0..16"
    labels = digits.target.astype(np.uint8)
    index = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        index, test_size=TEST_SIZE, stratify=labels, random_state=SEED
    )
    # Sorted so each split keeps the original order of the source file.
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    return {
        "x_train": images[train_idx],
        "y_train": labels[train_idx],
        "x_test": images[test_idx],
        "y_test": labels[test_idx],
        # Positions in sklearn's ordering, kept so the file can be traced to its source.
        "train_idx": train_idx.astype(np.uint16),
        "test_idx": test_idx.astype(np.uint16),
    }


def to_npz_bytes(arrays):
    """An .npz archive (readable by np.load) with deterministic bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args(argv)
    data = to_npz_bytes(build())
    if args.check:
        if OUT.read_bytes() != data:
            print(f"{OUT} differs from what this script produces", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date ({len(data):,} bytes)")
        return 0
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
