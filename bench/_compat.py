"""Make deepinv importable next to the CPU build of torch, without importing torchvision up front.

deepinv imports torchvision. The only torchvision wheel for torch 2.13 links a
CUDA extension that fails to register its operators next to the CPU torch, and
``import torchvision`` then dies with ``operator torchvision::nms does not
exist``. Declaring the two operator schemas that torchvision's Python code
looks up lets its pure-Python parts import; ``torchvision.ops`` stays unusable
and deepinv does not need it. On any install where torchvision imports, this
does nothing.

Importing torch and torchvision takes seconds, which every ``bench`` command
(``--help`` included) used to pay: :func:`install_torchvision_guard` defers the
fix to the first ``import torchvision``, whoever makes it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import cast

_MISSING_OP_ERROR = "operator torchvision::nms does not exist"


def ensure_torchvision_importable() -> None:
    """Import torchvision, declaring its missing operator schemas only on the known error."""
    try:
        import torchvision
    except RuntimeError as error:
        if _MISSING_OP_ERROR not in str(error):
            raise
        _declare_torchvision_ops()
        for module in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[module]
        import torchvision  # noqa: F401


def install_torchvision_guard() -> None:
    """Run :func:`ensure_torchvision_importable` at the first ``import torchvision`` (once; idempotent)."""
    if "torchvision" not in sys.modules and not any(isinstance(f, _TorchvisionGuard) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchvisionGuard())


class _TorchvisionGuard(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A finder that answers the first ``import torchvision`` with the module imported the safe way."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        ensure_torchvision_importable()
        imported = cast(importlib.machinery.ModuleSpec, sys.modules["torchvision"].__spec__)  # an imported module's
        spec = importlib.machinery.ModuleSpec(name, self, origin=imported.origin, is_package=True)
        spec.submodule_search_locations = imported.submodule_search_locations
        spec.has_location = imported.has_location
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: :meth:`find_spec` imported the module already."""


def _declare_torchvision_ops() -> None:
    import torch

    library = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    # Keep the library object alive: dropping it would unregister the schemas.
    setattr(_declare_torchvision_ops, "library", library)
