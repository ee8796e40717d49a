"""CPU time of this process, also inside Pyodide under Node (where time.process_time() is 0).

Benchmarks here time single-threaded work in CPU time: on a shared, loaded machine it barely
moves, while wall time swings with the other processes.
"""

import sys
import time


def _node_cpu_time():
    from js import process  # Pyodide running under Node

    usage = process.cpuUsage()
    return (usage.user + usage.system) / 1e6


def _pick():
    if sys.platform == "emscripten":
        try:
            _node_cpu_time()
            return _node_cpu_time, "CPU time of the Node process"
        except Exception:  # a browser: no process CPU clock
            return time.perf_counter, "wall time"
    return time.process_time, "process CPU time"


cpu_time, CLOCK_NAME = _pick()
