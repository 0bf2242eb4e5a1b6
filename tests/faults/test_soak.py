"""Issue 7, fault 12: a short soak (CI); `make soak SOAK_SECONDS=N` runs a long one."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.soak import SoakConfig, run_soak


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_short_soak_with_periodic_faults(tmp_path: Path) -> None:
    """Pass: after 60 s of three simulated gateways, relay commands every 0.5 s and a fault
    every 8 s (broker SIGKILL, gateway SIGKILL, link cut past the link-loss timeout, link
    blip, broker restart without persistence, client cut off), every client's view equals
    what the gateways published, the bridge and a gateway grew by at most 20 MB, and the audit
    log has exactly one entry per command a gateway answered."""
    report = run_soak(
        SoakConfig(seconds=60, gateways=3, clients=2, fault_interval_s=8, rss_bound_mb=20),
        tmp_path,
    )
    print(report.to_dict())
    assert report.problems() == [], report.to_dict()
    assert len(set(report.faults)) == 6, f"every kind of fault ran once: {report.faults}"
