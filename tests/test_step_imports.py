"""The steps whose jobs are short import only what they use: a download or a lab data job that imported torch
and MLflow spent about 5 s starting for well under a second of work (benchmarks/overhead.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = {"torch", "mlflow", "matplotlib", "sklearn", "torchaudio"}


@pytest.mark.parametrize("module", ["seqsuite.steps.download", "seqsuite.steps.lab_data", "seqsuite.steps.logs"])
def test_a_short_step_imports_none_of_the_heavy_packages(module):
    script = f"import sys, {module}; print(sorted(set({sorted(HEAVY)!r}) & {{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
