"""Each library's training steps timed in processes of their own, the processes taking turns.

A user trains with one library in a process. Timed in one process, taking turns, each
library's step runs on the heap the other's left: tinytorch's step reused the memory
PyTorch's step keeps mapped (the small CNN: ~15 ms there, 17-20 ms in a process of its own
before tinytorch pooled its arrays), and a program timed after another inherits what that
one left (the small CNN: 14-15 ms after the MNIST CNN). Processes taking turns still share
the load of a busy machine alike.
"""

import json
import statistics
import subprocess
import sys


def take_turns(script, options, libraries, rounds):
    """{library: [what each of its processes printed last, as JSON]}: `script *options
    --library L` run `rounds` times for each library, the libraries taking turns."""
    results = {library: [] for library in libraries}
    for _ in range(rounds):
        for library in libraries:
            out = subprocess.run([sys.executable, script, *options, "--library", library],
                                 check=True, capture_output=True, text=True).stdout
            results[library].append(json.loads(out.splitlines()[-1]))
    return results


def median_of(results, key):
    """The median of `key` over a library's processes (None where none reported it)."""
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def report(steps):
    """Print what a child process reports: its steps' median time, faults and first loss."""
    print(json.dumps(steps))
