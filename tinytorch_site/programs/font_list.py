"""Run inside the bundled Pyodide at build time (tinytorch_site.in_pyodide): makes matplotlib's
font list with the bundled matplotlib and the fonts the site keeps, and copies it to argv[1].

    font_list.py OUT_FILE
"""

import os
import shutil
import sys

from matplotlib import font_manager  # scans the fonts, writes the list

path = os.path.join(os.path.dirname(font_manager.__file__), "fontlist.json")
if not os.path.exists(path):
    sys.exit(f"this matplotlib keeps its font list elsewhere, not at {path}")
shutil.copy(path, sys.argv[1])
