"""`bench/reports.py` still runs as `make bench` calls it, and prints each figure beside its target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_reports_benchmark_runs_as_a_script_and_says_which_targets_it_met(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reports.py"), "--cases", "20", "--sqlite", str(tmp_path / "r.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert [line.split("  ")[1].strip() for line in lines] == [
        "monitor, JSON, 5 months",
        "monitor, CSV",
        "case export, CSV",
        "case export, XLSX",
        "DDAS, a year",
    ]
    exports = lines[2:]
    assert all("(< 10 s: met)" in line and "peak RSS" in line and "(< 300 MB: met)" in line for line in exports)
