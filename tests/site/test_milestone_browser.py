"""A milestone runs to its target in the built site, in headless Chromium, fully offline.

Uses the session's site build and browser fixtures (conftest.py) and the notebook driver of
bench/milestones_browser.py, which runs every milestone and prints timings.
"""

from __future__ import annotations

import pytest

from bench import milestones_browser

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MILESTONE = "milestones/03_1986_backprop.ipynb"  # the full training pipeline, ~20 s in the browser


def test_milestones_are_in_the_site(site_dir):
    paths = milestones_browser.milestone_paths(site_dir)
    assert [p.split("/")[1][:7] for p in paths] == ["01_1957", "02_1969", "03_1986", "04_1998", "05_2017", "06_2018"]


def test_backprop_milestone_reaches_its_target_offline(site_url, browser):
    outcome = milestones_browser.run_milestone(browser.context, site_url, MILESTONE, timeout=600)
    assert not outcome["errors"], f"{MILESTONE}: {outcome['errors']}\n{outcome['output'][-2000:]}"
    assert outcome["verdict"] == "met", outcome["result"]
    print(f"{MILESTONE}: {outcome['result']} ({outcome['seconds']:.1f} s after kernel start, "
          f"imports {outcome['import_seconds']:.1f} s)")
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
