"""Suite-wide settings: the hypothesis profile, the test processes' garbage-collection
thresholds, and how the tests are ordered and shared out between the two xdist workers of
``make test``.

Ordering and grouping (``--dist loadgroup``, set in pyproject.toml):

- Tests that inspect one expensive thing (a report built once per session, the JupyterLab
  server) form one xdist group, so a single worker builds it and runs every test that looks at
  it; no worker sits waiting on another's build.
- The expensive groups and the slow tests are handed out first, longest first, so the cheap
  tests fill the end of the run on both workers instead of one worker finishing a long report
  build alone.

Nothing here changes what a test checks; only where and when it runs.
"""

from __future__ import annotations

import os

import pytest

# this file holds no doctests; collecting it as a module would import a second "conftest"
collect_ignore = ["conftest.py"]

# -- hypothesis ---------------------------------------------------------------------------
# Tests that set their own ``@settings`` keep them. The default ``max_examples`` stays at 100
# (a property is never checked on fewer examples than it asked for); the deadline is off
# because timing on a loaded 2-core machine is not what these properties are about.
# ``make test`` is reproducible: the default profile draws the same examples on every run
# (``derandomize``), so CI and a user's run see the same cases. ``HYPOTHESIS_PROFILE=explore``
# searches afresh with random seeds (and 500 examples where a test sets none) for new failures.


def _hypothesis_profile() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # pragma: no cover - hypothesis is a dev dependency
        return
    quiet = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    settings.register_profile("survey", derandomize=True, **quiet)
    settings.register_profile("explore", max_examples=500, **quiet)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "survey"))


_hypothesis_profile()


# -- garbage collection --------------------------------------------------------------------
# The tests make many short-lived pandas and numpy objects. With Python's default thresholds
# (700, 10, 10) the cyclic collector runs every 700 net allocations and walks the whole heap
# every 100 of those runs: 3-8 % of a worker's CPU (tests/validation, test_crosstab.py,
# test_dask.py and test_messy_hypothesis.py: 47.3-47.9 s of CPU with the defaults, 43.9-45.4 s
# with the thresholds below). Collecting less often frees the same cycles a little later and
# leaves what every test checks unchanged; the processes the tests start (report kernels,
# the CLI, servers) keep Python's defaults.


def pytest_configure(config: pytest.Config) -> None:
    import gc

    gc.set_threshold(100_000, 50, 100)


# -- xdist groups and order --------------------------------------------------------------
# pytest 9.2 builds ``item.nodeid`` from a structured id that pytest-xdist 3.8's
# ``xdist_group`` suffix no longer reaches, so ``--dist loadgroup`` is implemented here: the
# scheduler below groups tests by the table GROUPS (test id prefix -> group), and
# pytest_collection_modifyitems puts the groups and slow tests first (lower rank first; the
# ranks follow the measured cost, ``pytest --durations``).

GROUPS: tuple[tuple[str, str, int], ...] = (
    # (test id prefix, group, rank)
    ("tests/reporting/test_browser.py::test_walkthrough_in_jupyterlab", "jupyterlab", 0),
    ("tests/reporting/test_reports.py::test_standard_report", "standard-reports", 1),
    ("tests/reporting/test_reports.py::test_chinese_standard_report", "standard-reports", 1),
    ("tests/reporting/test_reports.py::test_multiple_response_tables", "standard-reports", 1),
    ("tests/reporting/test_reports.py::", "printed-reports", 2),
    ("tests/reporting/test_browser.py::test_report_", "printed-reports", 2),
    ("tests/reporting/test_browser.py::test_no_internal_text", "printed-reports", 2),
    ("tests/reporting/test_walkthroughs.py::", "", 3),
    ("tests/reporting/test_hostile_reports.py::", "hostile-report", 4),
    ("tests/reporting/test_pipeline.py::", "tiny-report", 5),
    ("tests/reporting/test_atomic_reports.py::", "tiny-report", 5),
    # the slowest single tests
    ("tests/entry/test_browser.py::", "", 6),
    ("tests/analysis/test_crosstab.py::test_fisher_rxc_exact", "", 6),
    ("tests/analysis/test_models.py::test_svyolr_on_replicate_weights", "", 6),
    ("tests/charts/test_charts.py::test_charts_leave_global_rcparams_alone", "", 6),
    ("tests/questionnaire/test_paper_form.py::", "", 6),
    ("tests/ingest/test_messy_hypothesis.py::", "", 6),
    ("tests/validation/test_small_frames.py::", "", 6),
    ("tests/ingest/test_hostile_scale.py::", "", 6),
    ("tests/entry/test_server.py::", "", 6),
)


def _group(nodeid: str) -> tuple[str, int]:
    """(xdist group or "", rank) of a test id; the first matching prefix wins."""
    for prefix, group, rank in GROUPS:
        if nodeid.startswith(prefix):
            return group, rank
    return "", 9


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda it: _group(it.nodeid)[1])  # stable: collection order within a rank


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup``: the tests of one group run on one worker, groups first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)  # an xdist_group suffix, if xdist adds one
            return (_group(nodeid)[0] or scope) if scope == nodeid else scope

    return GroupScheduling(config, log)


# -- CPU time per test (opt-in) ------------------------------------------------------------
# SURVEY_TEST_CPU=FILE appends "seconds<TAB>test id" per test: CPU of the worker, of the
# processes it waited for (kernels, Chromium, subprocess CLIs) and of its live descendants
# (with what they waited for), so the work of a long-lived JupyterLab server, its kernels or
# a shared Chromium is charged to the test during which it happened, not to the one whose
# teardown reaps them (or to none, when a process is killed unreaped). Processes that leave
# the tree without being waited for (Chromium's renderers, reparented to init when the browser
# closes) take their CPU out of the sum; the test in which that happens is charged 0, not
# minus the work already charged to the tests that caused it. Wall times (--durations)
# mostly measure the machine's load; this ranking does not.

def _cpu_seconds() -> float:
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return total
    for proc in psutil.Process().children(recursive=True):
        try:
            t = proc.cpu_times()
        except psutil.Error:  # ended meanwhile: counted by whoever waited for it
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    log = os.environ.get("SURVEY_TEST_CPU")
    if not log:
        yield
        return
    start = _cpu_seconds()
    yield
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{max(0.0, _cpu_seconds() - start):.2f}\t{item.nodeid}\n")


def pytest_ignore_collect(collection_path, config):
    """Not a test module: a test folder's conftest.py (it holds no doctest). Collected under
    ``--doctest-modules`` it is imported by the bare name ``conftest``, which finds another
    folder's conftest when several folders are named on the command line."""
    return True if collection_path.name == "conftest.py" else None
