"""Shared fixtures of the Dask tests: one dask.distributed LocalCluster (2 workers, in this
process), started by the first test that asks for it and shared by the tests that follow.

The cluster is closed as soon as the next test of this worker does not use it: an idle
in-process LocalCluster costs ~50 ms of CPU per second (heartbeats of the scheduler and its
workers), which over the rest of a session costs more than starting it again (~0.1 s)."""

from __future__ import annotations

import pytest

_CLUSTER: dict = {}


@pytest.fixture
def dask_client():
    distributed = pytest.importorskip("distributed")
    if not _CLUSTER:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                           dashboard_address=":0")
        _CLUSTER.update(cluster=cluster, client=distributed.Client(cluster))
    return _CLUSTER["client"]


def _close() -> None:
    client, cluster = _CLUSTER.pop("client"), _CLUSTER.pop("cluster")
    client.close()
    cluster.close()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _CLUSTER and "dask_client" not in getattr(nextitem, "fixturenames", ()):
        _close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _CLUSTER:  # the last test of the session used it (nextitem is None)
        _close()
