#!/usr/bin/env bash
# Short coverage-guided fuzzing runs for CI: each harness for N seconds (default 60).
#   fuzz/run_ci.sh [SECONDS]          (env: PYTHON, default python; ROUTECORE_FUZZ_KNOWN, see README)
# Prints each harness's execution count ("Done N runs") and exits non-zero on any finding
# (an exception, a twin disagreement, a crash, a >25 s hang); the reproducer is saved under
# fuzz/artifacts/ (crash-<sha1>): replay it with  python fuzz/fuzz_X.py fuzz/artifacts/crash-...
# New corpus units go to a scratch directory, never into the seed corpus in fuzz/corpus/.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
PY="${PYTHON:-python}"
if ! "$PY" -c "import atheris" 2>/dev/null; then
  echo "fuzz: atheris is not installed (pip install atheris)"; exit 2
fi
mkdir -p fuzz/artifacts
status=0
for name in load route; do
  work="$(mktemp -d)"
  log="$(mktemp)"
  "$PY" "fuzz/fuzz_${name}.py" "$work" "fuzz/corpus/${name}" \
      -dict="fuzz/${name}.dict" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=4096 \
      -artifact_prefix=fuzz/artifacts/ -print_final_stats=1 >"$log" 2>&1
  rc=$?
  runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1)"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_${name}: ok, ${runs:-? runs} in ${SECONDS_EACH}s"
  else
    status=1
    execs="$(grep -Eo 'number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)"
    echo "fuzz_${name}: FINDING (exit ${rc}) after ${execs:-?} runs; last lines of the log:"
    grep -v -E '^#[0-9]+ |^"|Uses:' "$log" | tail -40
  fi
  rm -rf "$work" "$log"
done
exit "$status"
