"""The benchmarks still run as the scripts `make bench` and the README call (a bench file named
like a package, bench/sync.py, once hid the `sync` package from its neighbours)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
