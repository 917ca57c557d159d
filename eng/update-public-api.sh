#!/usr/bin/env bash
# Records every public symbol that the Public API analyzer reports as undeclared (RS0016) in the project's
# PublicAPI.Unshipped.txt. Run after adding public API, review the diff, commit. `./build.sh` then enforces it.
set -euo pipefail
cd "$(dirname "$0")/.."
for i in 1 2 3; do
  out=$(dotnet build ChitChat.sln -nologo 2>&1 || true)
  lines=$(grep -o "[^ ]*/src/[^(]*([0-9]*,[0-9]*): error RS0016: Symbol '.*' is not part of the declared public API" <<<"$out" || true)
  [ -z "$lines" ] && { echo "public API baselines are up to date"; exit 0; }
  while IFS= read -r line; do
    file=${line%%(*}
    proj=$(dirname "$file"); while [ ! -f "$proj/PublicAPI.Unshipped.txt" ]; do proj=$(dirname "$proj"); done
    sym=$(sed -E "s/.*error RS0016: Symbol '(.*)' is not part of the declared public API/\1/" <<<"$line")
    grep -qxF -- "$sym" "$proj/PublicAPI.Unshipped.txt" || echo "$sym" >> "$proj/PublicAPI.Unshipped.txt"
  done <<<"$lines"
done
