"""The outcome of every check: in this session (`results`, and the very object that passed),
and in `progress.json` wherever the learner's work is kept (a notebook, or TINYTORCH_HOME set).
A component whose check passes in a notebook is saved at once, so later notebooks and the
milestones can use it (`tinytorch.mine.use()`)."""

from __future__ import annotations

import types

from . import saving, storage

results = {}  # exercise name -> latest outcome in this session
passed_objects = {}  # exercise name -> the learner's object that passed its check


def record(exercise, learner, passed: bool) -> None:
    """Called by every check (see registry.module) with the object it tested."""
    results[exercise.name] = passed
    if passed:
        passed_objects[exercise.name] = learner
    else:
        passed_objects.pop(exercise.name, None)
    if not storage.persisting():
        return
    try:
        state = storage.read_state()
        entry = {"passed": bool(passed), "time": storage.now()}
        notebook = storage.notebook()
        if notebook:
            entry["notebook"] = notebook
        state["checks"][exercise.name] = entry
        storage.write_state(state)
    except OSError:
        pass  # a read-only or full storage must never break a check
    if passed and exercise.is_component and isinstance(learner, (type, types.FunctionType)):
        outcome, path = saving.write(exercise.name, learner, storage.notebook() or exercise.notebook)
        if outcome == "saved":
            print(f"Saved your {exercise.name} as {storage.shown(path)}: tinytorch uses it in place of its own "
                  f"in later notebooks and the milestones (tinytorch.mine.use()).")
        elif outcome != "unchanged":
            print(f"Your {exercise.name} passed but was {outcome}")
