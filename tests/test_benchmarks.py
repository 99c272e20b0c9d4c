"""The benchmarks still run as the scripts `make bench` and the README call (a bench file named
like a package, bench/sync.py, once hid the `sync` package from its neighbours)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_benchmark_imports_a_generated_file_as_a_script(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from bench.import_signals import generate
    finally:
        sys.path.remove(str(ROOT))
    signals = tmp_path / "signals.csv"
    generate(signals, 60)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "import_signals.py"),
            "--child",
            f"sqlite:///{tmp_path / 'bench.db'}",
            str(signals),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["rows"] == 60 and figures["created"] == 60 and figures["rejected"] == 0


def test_the_scale_benchmark_builds_a_small_database_and_times_every_operation(tmp_path: Path) -> None:
    """bench/scale.py end to end on one small size (PostgreSQL only): the build, every operation
    over HTTP, the captured plans, and the report."""
    url = os.environ.get("DOORSTEP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the scale benchmark is PostgreSQL's")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale.py"),
            "--sizes",
            "7000",
            "--municipalities",
            "3",
            "--repeat",
            "1",
            "--import-rows",
            "40",
            "--pg-prefix",
            f"{url}_scale",
            "--out",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "scale.json").read_text())
    operations = results["sizes"]["7000"]["operations"]
    assert len(operations) == 11 and operations["import (40 rows)"]["rows_per_s"] > 0
    assert results["plans"]["7000"]["pull, full (40 cases)"], "no reads captured"
    assert "| pull, full (40 cases) |" in (tmp_path / "scale.md").read_text()
