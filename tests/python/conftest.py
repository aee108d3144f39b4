"""pytest setup for the exporter tests: makes `tensorplan` importable when pytest is run by hand
(ctest sets PYTHONPATH itself) and keeps torch to one thread so runs are fast and repeatable."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(REPO, "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

import torch  # noqa: E402

torch.set_num_threads(1)
