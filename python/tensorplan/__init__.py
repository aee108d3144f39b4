"""tensorplan's PyTorch side.

``tensorplan.export`` turns one training step of a PyTorch model (forward, loss, backward,
optimizer update) into a ``tensorplan.graph`` file; ``tensorplan.zoo`` defines the models of the
zoo in ``models/``. Submodules are imported on demand so that ``python3 -m tensorplan.export``
does not import the exporter twice.
"""

__all__ = ["export", "zoo"]
