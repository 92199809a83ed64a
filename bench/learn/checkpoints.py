"""The checkpoint format of learned methods: float16 weights, optional part files, a JSON card.

:func:`save_checkpoint` stores weights in float16 (small enough to ship)
next to a JSON card with the command, configuration, git commit and final
validation figures; :func:`load_checkpoint` reads them back with
``torch.load(..., weights_only=True)``, checks the sha256 of every part file,
and explains how to recreate a file that is missing or corrupt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from bench.system.files import sha256_file
from bench.system.measure import git_commit, library_versions

__all__ = ["MAX_FILE_MIB", "CheckpointError", "load_checkpoint", "save_checkpoint"]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or does not match the network."""


#: Largest checkpoint file written, MiB: the project ships files of at most 16 MiB.
MAX_FILE_MIB = 15.0


def save_checkpoint(
    path: Path,
    networks: Mapping[str, nn.Module],
    *,
    architecture: Mapping[str, Any],
    card: Mapping[str, Any],
    max_file_mib: float = MAX_FILE_MIB,
) -> Path:
    """Write the networks' weights in float16 and their ``architecture`` to ``path``, and a JSON card beside it.

    ``architecture`` (plain numbers, strings and lists) is what rebuilds the
    networks at load time. Weights beyond ``max_file_mib`` go to part files
    ``<stem>.part<i>.pt`` beside ``path``, whose names and sha256 ``path``
    records, so a paper-sized network ships in files small enough for the
    repository. The card gets every file's sha256, parameter counts, git
    commit and library versions on top of what the caller gives (command,
    configuration, validation figures).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = {
        name: {key: (t.half() if t.is_floating_point() else t).cpu() for key, t in net.state_dict().items()}
        for name, net in networks.items()
    }
    parts = _split(weights, int(max_file_mib * 2**20))
    part_paths = [path.with_name(f"{path.stem}.part{i}.pt") for i in range(1, len(parts))] if len(parts) > 1 else []
    for part_path, part in zip(part_paths, parts[1:]):
        torch.save({"weights": part}, part_path)
    torch.save(
        {
            "architecture": dict(architecture),
            "weights": parts[0],
            "parts": {p.name: sha256_file(p) for p in part_paths},
        },
        path,
    )
    files = [path, *part_paths]
    versions = library_versions()
    full_card = {
        **card,
        "file": path.name,
        "sha256": sha256_file(path),
        "size_mib": round(sum(f.stat().st_size for f in files) / 2**20, 2),
        **({"parts": [p.name for p in part_paths]} if part_paths else {}),
        "parameters": {name: sum(p.numel() for p in net.parameters()) for name, net in networks.items()},
        "git_commit": git_commit() or "unknown",
        "versions": {lib: versions[lib] or "not installed" for lib in ("deconv-bench", "torch", "deepinv")},
    }
    path.with_suffix(".json").write_text(json.dumps(full_card, indent=2, default=str) + "\n")
    return path


def _split(
    weights: Mapping[str, Mapping[str, torch.Tensor]], max_bytes: int
) -> list[dict[str, dict[str, torch.Tensor]]]:
    """Group the tensors, in order, into parts of at most ``max_bytes`` each (the first holds at least one)."""
    parts: list[dict[str, dict[str, torch.Tensor]]] = [{}]
    size = 0
    for name, state in weights.items():
        for key, tensor in state.items():
            nbytes = tensor.numel() * tensor.element_size()
            if nbytes > max_bytes:
                raise ValueError(
                    f"tensor {name}.{key} alone takes {nbytes / 2**20:.1f} MiB, over {max_bytes / 2**20:.1f}"
                )
            if size + nbytes > max_bytes and size:
                parts.append({})
                size = 0
            parts[-1].setdefault(name, {})[key] = tensor
            size += nbytes
    return parts


def load_checkpoint(
    path: Path, build: Callable[[Mapping[str, Any]], Mapping[str, nn.Module]], *, recreate: str
) -> dict[str, nn.Module]:
    """Rebuild the networks saved by :func:`save_checkpoint` (in eval mode, float32).

    ``build`` maps the stored architecture to freshly initialised networks;
    ``recreate`` is the command that rebuilds the file. Every error names the
    file (or the part file) and that command.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint {path}: recreate it with `{recreate}`")
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        weights = {name: dict(state) for name, state in stored["weights"].items()}
        for part_name, digest in stored.get("parts", {}).items():
            for name, state in _load_part(path.with_name(part_name), digest, recreate).items():
                weights.setdefault(name, {}).update(state)
        networks = dict(build(stored["architecture"]))
        for name, net in networks.items():
            reference = net.state_dict()
            net.load_state_dict({key: t.to(reference[key].dtype) for key, t in weights[name].items()})
            net.eval()
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or does not match its networks "
            f"({type(error).__name__}: {str(error).strip().splitlines()[0]}); "
            f"recreate it with `{recreate}`"
        ) from error
    return networks


def _load_part(path: Path, digest: str, recreate: str) -> dict[str, dict[str, torch.Tensor]]:
    """The weights of one part file, after checking it is there and has the sha256 its checkpoint recorded."""
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint part {path}: recreate it with `{recreate}`")
    if sha256_file(path) != digest:
        raise CheckpointError(f"checkpoint part {path} is corrupt (sha256 differs): recreate it with `{recreate}`")
    return torch.load(path, map_location="cpu", weights_only=True)["weights"]
