"""Make deepinv importable next to the CPU build of torch.

deepinv imports torchvision. The only torchvision wheel for torch 2.13 links a
CUDA extension that fails to register its operators next to the CPU torch, and
``import torchvision`` then dies with ``operator torchvision::nms does not
exist``. Declaring the two operator schemas that torchvision's Python code
looks up lets its pure-Python parts import; ``torchvision.ops`` stays unusable
and deepinv does not need it. On any install where torchvision imports, this
does nothing.
"""

from __future__ import annotations

import sys

_MISSING_OP_ERROR = "operator torchvision::nms does not exist"


def ensure_torchvision_importable() -> None:
    """Import torchvision, declaring its missing operator schemas only on the known error."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError as error:
        if _MISSING_OP_ERROR not in str(error):
            raise
        _declare_torchvision_ops()
        for module in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[module]
        import torchvision  # noqa: F401


def _declare_torchvision_ops() -> None:
    import torch

    library = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    # Keep the library object alive: dropping it would unregister the schemas.
    _declare_torchvision_ops.library = library
