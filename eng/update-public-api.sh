#!/usr/bin/env bash
# Brings every library's PublicAPI.Unshipped.txt up to date with its code: records each public symbol that the Public
# API analyzer reports as undeclared (RS0016) and drops each declared one that no longer exists (RS0017). Run after
# changing public API, review the diff, commit. `./build.sh` then enforces it. Builds without incrementality: an
# incremental build may skip the analyzer and report nothing.
# Optional argument: a project (or its folder) to update alone, e.g. `eng/update-public-api.sh src/ChitChat.Sqlite`;
# the default is the whole solution.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-ChitChat.sln}
for i in 1 2 3; do
  out=$(dotnet build "$TARGET" -nologo --no-incremental 2>&1 || true)
  added=$(grep -o "[^ ]*/src/[^(]*([0-9]*,[0-9]*): error RS0016: Symbol '.*' is not part of the declared public API" <<<"$out" | sort -u || true)
  removed=$(grep -o "[^ ]*/src/[^(]*PublicAPI.Unshipped.txt([0-9]*,[0-9]*): error RS0017: Symbol '.*' is part of the declared API" <<<"$out" | sort -u || true)
  [ -z "$added" ] && [ -z "$removed" ] && { echo "public API baselines are up to date"; exit 0; }
  if [ -n "$added" ]; then
    while IFS= read -r line; do
      file=${line%%(*}
      proj=$(dirname "$file"); while [ ! -f "$proj/PublicAPI.Unshipped.txt" ]; do proj=$(dirname "$proj"); done
      sym=$(sed -E "s/.*error RS0016: Symbol '(.*)' is not part of the declared public API/\1/" <<<"$line")
      grep -qxF -- "$sym" "$proj/PublicAPI.Unshipped.txt" || echo "$sym" >> "$proj/PublicAPI.Unshipped.txt"
    done <<<"$added"
  fi
  if [ -n "$removed" ]; then
    while IFS= read -r line; do
      file=${line%%(*}
      sym=$(sed -E "s/.*error RS0017: Symbol '(.*)' is part of the declared API/\1/" <<<"$line")
      SYM="$sym" python3 -c 'import os,sys; p=sys.argv[1]; s=os.environ["SYM"]; lines=open(p).read().split("\n"); open(p,"w").write("\n".join(l for l in lines if l!=s))' "$file"
    done <<<"$removed"
  fi
done
