#!/usr/bin/env bash
# ChitChat build script.
#   ./build.sh            build the solution
#   ./build.sh test       install what the tests need (redis-server, chromium, chromium-driver) when missing,
#                         build, run every test project, then the TypeScript SDK (clients/typescript: npm ci, build,
#                         the check that the web sample's committed bundle is fresh, npm test), and print
#                         "N passed, N failed, N skipped" over both
#   ./build.sh pack       pack every library under src/ into artifacts/packages
# Environment: CHITCHAT_MONGO_URI enables the MongoDB integration tests (skipped, with the reason, without it).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
COMMAND=${1:-build}
CONFIGURATION=${CONFIGURATION:-Debug}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '\n==> %s\n' "$*"; }

ensure_git_history() {
  # Nerdbank.GitVersioning computes the version height from history: a shallow clone breaks the build.
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    if [ "$(git rev-parse --is-shallow-repository 2>/dev/null || echo false)" = "true" ]; then
      log "shallow clone: fetching full history for Nerdbank.GitVersioning"
      git fetch --unshallow --quiet 2>/dev/null || { echo "could not unshallow; versions will not be stamped from git"; export NBGV_GitEngine=Disabled; }
    fi
  else
    export NBGV_GitEngine=Disabled
  fi
}

ensure_test_dependencies() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing test dependencies: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "The tests need: ${missing[*]}. Install them, e.g.: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
}

build() {
  log "build ($CONFIGURATION)"
  dotnet build ChitChat.sln -c "$CONFIGURATION" -nologo -clp:ErrorsOnly
}

# The TypeScript SDK (clients/typescript): npm ci, build (tsc + the browser bundle), the staleness check of the copy
# the web sample serves, npm test (unit + integration against the sample host built above). Sets NODE_PASSED,
# NODE_FAILED, NODE_SKIPPED and returns non-zero when a step failed.
NODE_PASSED=0 NODE_FAILED=0 NODE_SKIPPED=0
run_typescript() {
  NODE_PASSED=0 NODE_FAILED=0 NODE_SKIPPED=0
  local dir="$ROOT/clients/typescript" out="$ROOT/artifacts/test-results/typescript.txt"
  log "TypeScript SDK (clients/typescript)"
  if ! command -v npm >/dev/null 2>&1; then echo "npm is not installed (Node 20+ is needed for clients/typescript)" >&2; NODE_FAILED=1; return 1; fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed in clients/typescript" >&2; NODE_FAILED=1; return 1; }
  (cd "$dir" && npm run --silent build) || { echo "npm run build failed in clients/typescript" >&2; NODE_FAILED=1; return 1; }
  if ! (cd "$dir" && npm run --silent check-bundle); then
    echo "samples/ChitChat.Web/wwwroot/lib/chitchat-client/chitchat-client.js is stale: run npm run build in clients/typescript and commit the bundle (npm run copy-bundle copies it)" >&2
    NODE_FAILED=1
    return 1
  fi
  local code=0
  (cd "$dir" && CHITCHAT_SERVER_DLL="${CHITCHAT_SERVER_DLL:-$ROOT/samples/ChitChat.Web/bin/$CONFIGURATION/net10.0/ChitChat.Web.dll}" \
    npm test 2>&1) | tee "$out" || code=$?
  count() { grep -E "^(# |ℹ )$1 [0-9]+\$" "$out" | tail -1 | grep -oE '[0-9]+$' || echo 0; }
  NODE_PASSED=$(count pass)
  NODE_FAILED=$(( $(count fail) + $(count cancelled) ))
  NODE_SKIPPED=$(( $(count skipped) + $(count todo) ))
  if [ "$code" -ne 0 ] && [ "$NODE_FAILED" -eq 0 ]; then NODE_FAILED=1; echo "npm test exited with $code" >&2; fi
  [ "$code" -eq 0 ]
}

run_tests() {
  ensure_test_dependencies
  build
  local results="$ROOT/artifacts/test-results"
  rm -rf "$results"; mkdir -p "$results"
  log "test"
  set +e
  # Exit code 8 means "zero tests ran" in one module; it is not a failure of the run.
  dotnet test --solution ChitChat.sln -c "$CONFIGURATION" --no-build \
    --results-directory "$results" --report-xunit-trx --ignore-exit-code 8 \
    --max-parallel-test-modules "${CHITCHAT_TEST_PARALLEL:-2}"
  local code=$?
  set -e
  local passed=0 failed=0 skipped=0 files=0
  while IFS= read -r trx; do
    files=$((files + 1))
    local counters
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    local t p f e nx
    t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); t=${t:-0}
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); p=${p:-0}
    f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=${f:-0}
    e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters"); e=${e:-0}
    passed=$((passed + p)); failed=$((failed + f + e))
    skipped=$((skipped + t - p - f - e))
  done < <(find "$results" -name '*.trx')
  if [ "$files" -eq 0 ] && [ "$code" -eq 0 ]; then code=1; echo "no test results were written" >&2; fi
  if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $code" >&2; fi
  local node_code=0
  run_typescript || node_code=1
  echo
  echo "dotnet: $passed passed, $failed failed, $skipped skipped; node: $NODE_PASSED passed, $NODE_FAILED failed, $NODE_SKIPPED skipped"
  passed=$((passed + NODE_PASSED)); failed=$((failed + NODE_FAILED)); skipped=$((skipped + NODE_SKIPPED))
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ] && [ "$code" -eq 0 ] && [ "$node_code" -eq 0 ]
}

pack() {
  log "pack"
  rm -rf artifacts/packages
  for proj in src/*/*.csproj; do
    dotnet pack "$proj" -c Release -o artifacts/packages -nologo -clp:ErrorsOnly
  done
  ls -1 artifacts/packages
}

ensure_git_history
case "$COMMAND" in
  build) build ;;
  test) run_tests ;;
  pack) pack ;;
  *) echo "usage: ./build.sh [build|test|pack]" >&2; exit 2 ;;
esac
