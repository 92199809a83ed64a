#!/usr/bin/env bash
# Record asv results for past commits in the existing environment (back-fill the history).
#
#   bash benchmarks/record.sh COMMIT [COMMIT...]   # then: asv publish
#
# asv's "existing" environment benchmarks whatever `bench` Python imports, so
# each commit is checked out in a temporary git worktree, put first on the
# path (ASV_PYTHONPATH; bench/methods and bench/datasets are linked to the
# plugin folders, as the installed package maps them), run with
# --set-commit-hash, and its results are copied into this checkout's .asv/.
# The commit needs asv.conf.json and benchmarks/; the suite run is the
# commit's own. Arguments after `--` go to `asv run` (for example `-b Quality`).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
commits=() extra=()
while (($#)); do
    if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
    commits+=("$1"); shift
done
((${#commits[@]})) || { echo "usage: bash benchmarks/record.sh COMMIT [COMMIT...] [-- ASV_RUN_ARGS]" >&2; exit 2; }
asv machine --yes >/dev/null
for commit in "${commits[@]}"; do
    sha=$(git rev-parse --verify "$commit^{commit}")
    tree=$(mktemp -d)/tree
    git worktree add --detach "$tree" "$sha" >/dev/null
    ln -s ../methods "$tree/bench/methods"
    ln -s ../datasets "$tree/bench/datasets"
    (cd "$tree" && ASV_PYTHONPATH="$tree" asv run --python=same --set-commit-hash "$sha" "${extra[@]}")
    mkdir -p .asv/results
    for machine in "$tree"/.asv/results/*/; do cp -r "$machine" .asv/results/; done
    # asv publish graphs only the benchmarks listed in benchmarks.json: add this commit's to ours
    python - "$tree/.asv/results/benchmarks.json" .asv/results/benchmarks.json <<'PY'
import json, pathlib, sys
new, ours = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
merged = json.loads(ours.read_text()) if ours.exists() else {}
merged.update(json.loads(new.read_text()))
ours.write_text(json.dumps(merged, indent=4, sort_keys=True))
PY
    git worktree remove --force "$tree"
    echo "recorded $sha"
done
