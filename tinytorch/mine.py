"""Your framework: the components you wrote in the course, saved once their checks pass, and
the switch that makes tinytorch run on them.

    import tinytorch.mine as mine
    mine.use()                          # your saved components replace tinytorch's, everywhere it uses them
    mine.use(False)                     # tinytorch's own again
    mine.use("relu_backward", "Linear")  # only these of yours
    mine.components()                   # per component: yours or tinytorch's, and why
    from tinytorch.mine import Linear   # your Linear where saved, else tinytorch's (one line says which)
    mine.progress()                     # per module: which checks pass, which components are yours
    mine.clear("Linear")                # forget your saved Linear; mine.clear() forgets every one

Where: in the browser, the folder `my_tinytorch/` of the course's file browser (stored in the
browser with your notebooks: it survives reloads and kernel restarts); locally `~/.tinytorch/`,
or the folder named by the environment variable TINYTORCH_HOME.

What: when a component's check passes in a notebook, `my_tinytorch/<name>.py` is written:
plain Python, your definition with the imports and helpers it needs. `progress.json` holds the
latest outcome of every check you ran. A saved file that no longer loads, or that you edited
and that fails its check again, is reported and tinytorch's implementation is used instead;
nothing you wrote is changed or deleted, except by `clear`.
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

from . import checks, seams
from .course import registry, release, saving, storage
from .course import progress as outcomes

home = storage.home
persisting = storage.persisting
check_release = release.check_release
MANIFEST_NAME = storage.MANIFEST_NAME
STATE_FILE = storage.STATE_FILE
MARKER = saving.MARKER
SaveError, LoadError = saving.SaveError, saving.LoadError

# Derived from the exercises declared with the checks (tinytorch.course.registry).
MODULES = registry.modules()  # [(notebook stem, title, [exercise names])]
COMPONENTS = registry.components()  # name -> Exercise, for the exercises that are framework pieces

_in_use = {}  # component name -> your implementation that tinytorch calls now (see use())
_loaded = set()  # components without a seam that load() gave since use(): used, for report()
_switch = {"on": False}  # whether use() is on: then `from tinytorch.mine import X` gives the X in use
time_spent = {}  # component name -> [calls, seconds] spent in your implementation since use()


# --------------------------------------------------------------------------------------------
# Saving (automatic when a component's check passes in a notebook; save() does it by hand)
# --------------------------------------------------------------------------------------------

def save(obj, name: str | None = None, *, quiet: bool = False):
    """Save your `obj` (a function or class defined in a notebook) as `<home>/<name>.py`, once
    the check of exercise `name` (default: obj's name) has passed on this very object in this
    session. Prints one line saying what happened; returns the file's path or None."""
    name = name or getattr(obj, "__name__", None)
    if not name:
        return _said(quiet, f"not saved: {obj!r} has no name")
    outcome = outcomes.results.get(name)
    if not outcome:
        state = "failed" if name in outcomes.results else "has not been run yet"
        return _said(quiet, f"{name} not saved: its check {state} in this session")
    if outcomes.passed_objects.get(name) is not obj:
        return _said(quiet, f"{name} not saved: it is not the {name} that passed its check (run its check cell again)")
    exercise = registry.EXERCISES.get(name)
    what, path = saving.write(name, obj, storage.notebook() or (exercise.notebook if exercise else None))
    if what == "saved":
        return _said(quiet, f"Saved your {name} in {storage.shown(path)}: tinytorch uses it after "
                            f"`tinytorch.mine.use()`, and `from tinytorch.mine import {name}` gives it.", path)
    if what == "unchanged":
        return _said(quiet, f"{name} is saved in {storage.shown(path)} (unchanged)", path)
    return _said(quiet, f"{name} {what}")


def _said(quiet, message, value=None):
    if not quiet:
        print(message)
    return value


# --------------------------------------------------------------------------------------------
# Loading: yours if it is saved and works, else tinytorch's, with one line saying which
# --------------------------------------------------------------------------------------------

def _tinytorch_of(name: str):
    exercise = COMPONENTS.get(name)
    return exercise.tinytorch() if exercise is not None else None


def _recheck(obj, name: str) -> str | None:
    """Run the check of `name` again on `obj`; None if it passes, else its first report line."""
    exercise = registry.EXERCISES.get(name)
    if exercise is None:
        return None
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            exercise.check.__wrapped__(obj)  # the bare check: a re-check records no progress
    except checks.CheckFailed as failure:
        return str(failure).splitlines()[0]
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None


def resolve(name: str, state: dict | None = None, saved_files: set | None = None):
    """(implementation, one-line explanation) for `name`: yours if saved and working, else tinytorch's.

    `state` (progress.json) and `saved_files` (the file names in home()) may be passed in when
    many components are resolved at once: in the browser every file access is a request."""
    state = storage.read_state() if state is None else state
    entry = state["saved"].get(name)
    path = home() / f"{name}.py"
    shown = storage.shown(path)
    exercise = registry.EXERCISES.get(name)
    text, unreadable = None, None
    if saved_files is None or path.name in saved_files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as error:
            unreadable = error
    reference = _tinytorch_of(name)
    if text is None:
        if reference is None:
            raise AttributeError(f"tinytorch.mine has no {name}: you have not saved one, and it is not one of "
                                 f"the course's components ({', '.join(COMPONENTS)})")
        if unreadable:
            why = f"cannot read {shown}: {unreadable}"
        elif exercise is not None:
            why = f"yours is not saved yet: {exercise.notebook} saves it once its check passes"
        else:
            why = "yours is not saved yet"
        return reference, f"{name}: tinytorch's ({why})"
    try:
        obj = saving.load_source(text, name, str(path))
    except saving.LoadError as error:
        if reference is None:
            raise ImportError(f"{name}: your {shown} failed to load: {error}") from None
        return reference, f"{name}: tinytorch's; your {shown} failed to load: {error} (the file is left as it is)"
    edited = entry is None or entry.get("digest") != saving.digest(text)
    if edited and exercise is not None:
        failure = _recheck(obj, name)
        if failure and reference is not None:
            return reference, (f"{name}: tinytorch's; your edited {shown} fails its check: {failure} "
                               f"(the file is left as it is)")
        return obj, f"{name}: yours ({shown}, edited after saving; its check passes)"
    saved = f", saved {entry['time']}" if entry and entry.get("time") else ""
    return obj, f"{name}: yours ({shown}{saved})"


def _listed(folder) -> set:
    """The .py file names in `folder` (none if it cannot be listed)."""
    try:
        return {path.name for path in folder.glob("*.py")}
    except OSError:
        return set()


def _resolve_each(names):
    """(name, implementation, message, error) per name, as resolve() gives them, quietly (a saved
    file's own prints are dropped); progress.json is read and the folder listed once for all:
    in the browser each file access is a request. `error` is the AttributeError/ImportError
    raised instead, if any (implementation and message are None then)."""
    state = storage.read_state()
    # what progress.json records as saved is read even if a listing of the browser's drive misses it
    saved_files = _listed(home()) | {f"{name}.py" for name in state["saved"]}
    for name in names:
        obj = message = error = None
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                obj, message = resolve(name, state, saved_files)
            except (AttributeError, ImportError) as raised:
                error = raised
        yield name, obj, message, error  # outside the redirect: the caller prints


def load(name: str, quiet: bool = False):
    """Your `name` if saved and working, else tinytorch's; prints one line saying which.
    After `use()`, the component in use instead (use() said which), counted as used by report()."""
    exercise = COMPONENTS.get(name)
    if _switch["on"] and exercise is not None:
        if exercise.seam is not None:
            return seams.implementation(exercise.seam)
        _loaded.add(name)
        return _in_use.get(name) or exercise.tinytorch()
    obj, message = resolve(name)
    if not quiet:
        print(message)
    return obj


def __getattr__(name: str):
    """`from tinytorch.mine import Linear`: see load()."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return load(name)
    except AttributeError as error:
        print(error)  # `from ... import` replaces the message with a generic one
        raise


# --------------------------------------------------------------------------------------------
# The switch: tinytorch runs on your components
# --------------------------------------------------------------------------------------------

_nested = []  # per active timed call: the seconds spent in components it called


def _timed(name: str, fn):
    """`fn`, counting its calls and its own time (time_spent[name]: without the time of the
    components it calls, e.g. the backward rules inside `backward`); classes unchanged."""
    if isinstance(fn, type) or not callable(fn):
        return fn
    tally = time_spent.setdefault(name, [0, 0.0])

    def timed(*args, **kwargs):
        _nested.append(0.0)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            tally[0] += 1
            tally[1] += elapsed - _nested.pop()
            if _nested:
                _nested[-1] += elapsed

    timed.__wrapped__ = fn
    return timed


def use(*names, quiet: bool = False) -> list[str]:
    """Make tinytorch run on your components: `use()` every saved one whose check passes,
    `use("relu_backward", "Linear")` only those, `use(False)` none (tinytorch's own again).
    Each replaces tinytorch's everywhere tinytorch uses that piece. Prints what is yours and
    one line per component of yours that cannot be used; returns the names now yours.

    From here on, the calls and time of every component (yours and tinytorch's) are counted,
    for `report()`."""
    seams.restore()
    _in_use.clear()
    time_spent.clear()
    seams.looked_up.clear()
    _loaded.clear()
    _switch["on"] = names != (False,)
    if names == (False,):
        _said(quiet, "tinytorch's own implementations again for every component.")
        return []
    wanted = list(COMPONENTS) if names in ((), (True,)) else list(names)
    unknown = [n for n in wanted if n not in COMPONENTS]
    if unknown:
        raise ValueError(f"use: {', '.join(map(repr, unknown))} "
                         f"{'is not a component' if len(unknown) == 1 else 'are not components'} of the course; "
                         f"components are: {', '.join(COMPONENTS)}")
    problems = []
    for name, obj, message, error in _resolve_each(wanted):
        exercise = COMPONENTS[name]
        if error is not None:
            message = str(error)
        own = exercise.tinytorch()
        if obj is None or obj is own:
            if "not saved yet" not in message:
                problems.append(message)
        else:
            _in_use[name] = obj
        if exercise.seam is not None:
            seams.replace(exercise.seam, _timed(name, _in_use.get(name, own)))
    seams.looked_up.clear()  # what loading the saved files looked up (their imports) is not this run's use
    _loaded.clear()
    if not quiet:
        mine = ", ".join(_in_use) or "none yet"
        print(f"Your framework: {len(_in_use)} of {len(wanted)} components are yours ({mine}); "
              f"tinytorch's for the rest (tinytorch.mine.components() says why).")
        for message in problems:
            print("  " + message)
    return list(_in_use)


def report(quiet: bool = False) -> dict:
    """Which components this run used since `use()`, yours or tinytorch's, and the share of
    the time spent in each of yours: {"yours": [...], "tinytorch": [...], "seconds": {...}}.
    Prints it in two or three lines (a milestone does this after training)."""
    used = [name for name, exercise in COMPONENTS.items()
            if time_spent.get(name, [0])[0] or exercise.seam in seams.looked_up or name in _loaded]
    yours = [name for name in used if name in _in_use]
    theirs = [name for name in used if name not in _in_use]
    seconds = {name: time_spent[name][1] for name in yours if name in time_spent}
    if not quiet:
        print(f"Built from your code: {len(yours)} of {len(used)} components this run used"
              + (f" ({', '.join(yours)})" if yours else "") + ".")
        if theirs:
            print(f"tinytorch's: {', '.join(theirs)}.")
        total = sum(t for _, t in time_spent.values())
        if seconds and total > 0:
            shares = sorted(seconds.items(), key=lambda item: -item[1])
            print("Time inside components: " + ", ".join(
                f"yours {name} {100 * t / total:.0f} %" for name, t in shares) + f" of {total:.2f} s in all.")
    return {"yours": yours, "tinytorch": theirs, "seconds": seconds}


def summary() -> str:
    """'N of M components yours', for a milestone's RESULT line (see report())."""
    found = report(quiet=True)
    return f"{len(found['yours'])} of {len(found['yours']) + len(found['tinytorch'])} components yours"


def components(quiet: bool = False) -> list[dict]:
    """Per component: its module, whether tinytorch runs yours now, and why (printed as a table)."""
    rows = []
    for name, _, message, error in _resolve_each(COMPONENTS):
        exercise = COMPONENTS[name]
        if error is not None:
            message = f"{name}: {error}"
        in_use = name in _in_use
        why = message.split(": ", 1)[1] if ": " in message else message
        if not in_use and why.startswith("yours"):
            why += "; not in use: call tinytorch.mine.use()"
        rows.append({"name": name, "module": exercise.module, "yours": in_use, "why": why})
    if not quiet:
        width = max(len(r["name"]) for r in rows)
        print(f"{sum(r['yours'] for r in rows)} of {len(rows)} components are yours in this session:")
        for r in rows:
            print(f"  {r['module'][:2]} {r['name']:<{width}}  {'yours     ' if r['yours'] else 'tinytorch '} {r['why']}")
    return rows


def in_use() -> dict:
    """Component name -> your implementation that tinytorch runs now."""
    return dict(_in_use)


# --------------------------------------------------------------------------------------------
# Progress, status, clearing
# --------------------------------------------------------------------------------------------

def _saved_files() -> dict[str, Path]:
    """Files in home() that tinytorch saved (progress.json entries or the header marker)."""
    folder = home()
    state = storage.read_state()
    found = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            try:
                first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            except OSError:
                first = ""
            if path.stem in state["saved"] or MARKER in first:
                found[path.stem] = path
    return found


def status() -> None:
    """Print, for every framework component, which implementation `from tinytorch.mine import ...`
    gives, then the names of your other saved functions and classes."""
    others = [name for name in _saved_files() if name not in COMPONENTS]
    print(f"Your saved implementations: {storage.shown(home())}")
    for name, _, message, error in _resolve_each(COMPONENTS):
        print("  " + (f"{name}: {error}" if error is not None else message))
    if others:
        print(f"Also saved (imported the same way): {', '.join(others)}")


def progress_rows() -> list[dict]:
    """Per module: module stem, title, passing/total checks, the failing and not-run checks and
    the saved implementations (yours), from progress.json."""
    state = storage.read_state()
    checks, saved = state["checks"], _saved_files()
    rows = []
    for stem, title, names in MODULES:
        rows.append({
            "module": stem, "title": title, "total": len(names),
            "passing": sum(bool(checks.get(n, {}).get("passed")) for n in names),
            "failing": [n for n in names if n in checks and not checks[n].get("passed")],
            "not_run": [n for n in names if n not in checks],
            "yours": [n for n in names if n in saved],
        })
    return rows


def progress() -> None:
    """Print, per module, how many of its checks pass (latest outcome) and which of its
    implementations are saved as yours."""
    state = storage.read_state()
    rows = progress_rows()
    print(f"Your progress (from {storage.shown(home() / STATE_FILE)})\n")
    for row in rows:
        notes = []
        if row["failing"]:
            notes.append("failing: " + ", ".join(row["failing"]))
        if row["not_run"]:
            notes.append("not started" if len(row["not_run"]) == row["total"] else "not run: " + ", ".join(row["not_run"]))
        if row["yours"]:
            notes.append("yours: " + ", ".join(row["yours"]))
        mark = "done" if row["passing"] == row["total"] else f"{row['passing']}/{row['total']}"
        print(f"  {row['module'][:2]} {row['title']:<14s} {mark:>5s}  " + "; ".join(notes))
    known = {name for _, _, names in MODULES for name in names}
    others = sorted(set(state["checks"]) - known)
    if others:
        print("\n  other checks: " + ", ".join(
            f"{n} {'passes' if state['checks'][n].get('passed') else 'fails'}" for n in others))
    saved = _saved_files()
    print(f"\n{sum(r['passing'] for r in rows)} of {sum(r['total'] for r in rows)} checks pass. "
          f"Saved in {storage.shown(home())}: {len(saved)} implementation{'' if len(saved) == 1 else 's'} of yours.")


def clear(name: str | None = None, *, progress: bool = False) -> list[str]:
    """Delete your saved `name` (or, without a name, every implementation tinytorch saved);
    with `progress=True` also forget the recorded check outcomes. Other files in the folder
    are never touched. Returns the names removed."""
    state = storage.read_state()
    files = _saved_files()
    targets = [name] if name is not None else list(files)
    removed = []
    for target in targets:
        path = files.get(target)
        if path is not None:
            path.unlink()
            removed.append(target)
        state["saved"].pop(target, None)
    if progress:
        state["checks"] = {}
    if removed or progress or name in state["saved"]:
        storage.write_state(state)
    elif name is not None and not removed:
        print(f"Nothing to clear: no saved {name} in {storage.shown(home())}.")
        return removed
    what = ", ".join(removed) if removed else "no saved implementations"
    print(f"Cleared {what}" + (" and the recorded check outcomes" if progress else "")
          + ": tinytorch's implementations are used instead.")
    return removed
