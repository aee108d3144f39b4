"""tensorplan's PyTorch side.

``tensorplan.export`` turns one training step of a PyTorch model (forward, loss, backward,
optimizer update) into a ``tensorplan.graph`` file (its tracing lives in ``tensorplan.trace``, the
files in ``tensorplan.graph_file``); ``tensorplan.zoo`` defines the models of the
zoo in ``models/``; ``tensorplan.planner`` plans a graph in-process with the C++ planner
(``tensorplan._core``). Submodules are imported on demand so that ``python3 -m tensorplan.export``
does not import the exporter twice.

``tensorplan._core`` is a compiled module that CMake writes into ``<build>/python/tensorplan/``
(``make build``). This package adds that folder to its own ``__path__``, so that with
``PYTHONPATH=python`` the import ``from tensorplan import _core`` finds it. ``<build>`` is
``build/release`` in the repository by default; the environment variable ``TENSORPLAN_BUILD``
names another build directory (e.g. ``build/debug``; relative paths are taken from the current
directory).
"""

import os as _os


def _core_dir():
    """The folder the built _core module lives in (it may not exist yet)."""
    build = _os.environ.get("TENSORPLAN_BUILD")
    if not build:
        repo = _os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
        build = _os.path.join(repo, "build", "release")
    return _os.path.join(_os.path.abspath(build), "python", "tensorplan")


if _core_dir() not in __path__:
    __path__.append(_core_dir())

__all__ = ["export", "zoo", "planner"]
