"""The exporter shows its long phases (tracing, writing) on a terminal, and nothing of them when
stderr is not one."""

import os
import pty
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# resnet18 at batch 1 traces in about a second: long enough to see the status, short for a test.
EXPORT = [sys.executable, "-m", "tensorplan.export", "torchvision:resnet18", "--batch-size", "1"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    return env


def test_export_shows_its_phases_on_a_terminal(tmp_path):
    out = str(tmp_path / "r.json.gz")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(EXPORT + ["-o", out], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=follower, env=_env())
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pseudo-terminal closes when the program ends
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait() == 0, seen
    os.close(leader)
    text = seen.decode(errors="replace")
    assert "tensorplan.export: tracing torchvision:resnet18 (batch 1, sgd) on meta" in text
    assert "tensorplan.export: writing r.json.gz" in text
    assert f"{out}: " in text  # the summary line after the status line was cleared


def test_export_prints_only_its_summary_when_not_on_a_terminal(tmp_path):
    out = str(tmp_path / "r.json.gz")
    result = subprocess.run(EXPORT + ["-o", out], capture_output=True, text=True, env=_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"{out}: ") and result.stderr.count("\n") == 1, result.stderr
