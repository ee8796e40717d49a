"""tinytorch course site: search the working directory last on sys.path.

Shipped in the site's Pyodide standard library by the build (tinytorch_site.in_pyodide). The
kernel makes the notebook's folder (/drive, synced with the browser's storage) the working
directory, and '' comes first on sys.path, so every import first looks there: each look is a
synchronous request through the service worker, and the kernel's start-up makes hundreds.
This moves the working directory to the end of the search path: learners' own modules still
import, and cannot shadow the standard library or installed packages.
"""
import os
import sys
import time
from importlib.machinery import (BYTECODE_SUFFIXES, EXTENSION_SUFFIXES, SOURCE_SUFFIXES,
                                 ExtensionFileLoader, FileFinder, SourceFileLoader,
                                 SourcelessFileLoader)

_LOADERS = [(ExtensionFileLoader, EXTENSION_SUFFIXES), (SourceFileLoader, SOURCE_SUFFIXES),
            (SourcelessFileLoader, BYTECODE_SUFFIXES)]
_WORKING_DIRECTORY_LAST = "<working directory>"


class _Nothing:
    """The finder for '' at the front of sys.path (which PathFinder turns into the working
    directory before asking the hooks): finds nothing there."""

    def find_spec(self, fullname, target=None):
        return None

    def invalidate_caches(self):
        pass


class _WorkingDirectory:
    """The finder for the entry at the end of sys.path: the current working directory.

    Looks at a listing of the folder that is at most LISTING_TTL seconds old before asking
    a FileFinder (which stats the folder on every call): start-up probes this folder for
    about a hundred optional modules within seconds. As with any FileFinder, call
    importlib.invalidate_caches() after writing a module you import at once.
    """

    LISTING_TTL = 2.0

    def __init__(self):
        self._finders = {}
        self._listing = (None, 0.0, frozenset())

    def _names(self, cwd):
        listed_cwd, listed_at, names = self._listing
        now = time.monotonic()
        if listed_cwd != cwd or now - listed_at > self.LISTING_TTL:
            try:
                names = frozenset(name.partition(".")[0] for name in os.listdir(cwd))
            except OSError:
                names = frozenset()
            self._listing = (cwd, now, names)
        return names

    def find_spec(self, fullname, target=None):
        cwd = os.getcwd()
        if fullname not in self._names(cwd):
            return None
        if cwd not in self._finders:
            self._finders[cwd] = FileFinder(cwd, *_LOADERS)
        return self._finders[cwd].find_spec(fullname, target)

    def invalidate_caches(self):
        self._listing = (None, 0.0, frozenset())
        for finder in self._finders.values():
            finder.invalidate_caches()


def _path_hook(path):
    if path in ("", os.getcwd()):
        return _Nothing()
    if path == _WORKING_DIRECTORY_LAST:
        return _WorkingDirectory()
    raise ImportError(path)


sys.path_hooks.insert(0, _path_hook)
sys.path.append(_WORKING_DIRECTORY_LAST)
