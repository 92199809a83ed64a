#!/usr/bin/env bash
# One command for a lent CUDA device (one H100/H200, ~10 minutes a command, <= 8 files of 16 MiB back):
# train every learned method's gpu preset, time every method on CUDA with those presets, and pack the
# result into at most 7 files of at most 15 MiB in OUT.
#
#   bash scripts/gpu-session.sh "$OUT"     # on the device, from the repository root (about 8.5 minutes)
#   mkdir -p /tmp/gpu && cat OUT/gpu-session.tar.part-* | tar -xf - -C /tmp/gpu     # back here:
#   cp /tmp/gpu/checkpoints/* methods/checkpoints/ && cp -r /tmp/gpu/timing-cuda results/
#
# Each training stage stops at its preset's max_minutes (bench/conf/train/*-gpu.yaml), so the
# whole command stays within 9 minutes; a target that fails is reported and the others go on.
set -uo pipefail
out=${1:?usage: bash scripts/gpu-session.sh OUT}
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script is for a lent GPU')" || exit 2
stage=$(mktemp -d)
mkdir -p "$stage/checkpoints" "$out"
failed=()
for target in psf-id-spectral deepblur psf-id-conditioned nafnet swinir; do
  timeout 150 bench train "$target" preset=gpu --out "$stage/checkpoints/$target-gpu.pt" || failed+=("$target")
done
cp "$stage"/checkpoints/*-gpu*.pt "$stage"/checkpoints/*-gpu.json methods/checkpoints/ 2>/dev/null
timeout 60 bench timing --device cuda --sizes 256,512 --repeats 3 --max-call-seconds 10 --out "$stage/timing-cuda" \
  deepblur.preset=gpu deepblur-oracle.preset=gpu psf-id-spectral.preset=gpu psf-id-conditioned.preset=gpu \
  nafnet.preset=gpu swinir.preset=gpu || failed+=("timing")
tar -cf - -C "$stage" . | split -b 15M -a 1 - "$out/gpu-session.tar.part-"
echo "wrote $(ls "$out" | wc -l) part(s) to $out; failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
