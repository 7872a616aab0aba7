"""collector_paused: the collector is off inside, on again after (also after an error), and a pause
inside a pause does not switch it back on early."""

import gc
import subprocess
import sys

import pytest

from billing_assets.memory import collector_paused


def test_the_collector_is_paused_inside_and_back_after_an_error():
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("a failed step")
    assert gc.isenabled()


def test_an_inner_pause_leaves_the_outer_one_in_force():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_loading_the_code_location_leaves_nothing_behind_at_exit():
    # definitions.py freezes the code location's objects; without thawing them at exit, the interpreter's
    # last collection skipped them and nanobind-based extensions printed "leaked instances" on every exit.
    done = subprocess.run([sys.executable, "-c", "import billing_assets.definitions"], capture_output=True,
                          text=True, check=True)
    assert "leaked" not in done.stderr, done.stderr[-2000:]
