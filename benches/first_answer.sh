#!/usr/bin/env bash
# Time to the first answer, as a new user meets it: a fresh clone of this
# repository's HEAD, `./install.sh --yes` in a throwaway HOME (build with a
# fresh target folder, install, model pull with its prompt preparation, rc
# block), then a NEW interactive bash running `cmdai "find large files"`
# (daemon start, model load, answer) and a second request on the warm daemon.
# Prints one line per phase and writes benches/results/first_answer.json
# (first_answer-prebuilt.json with --binary).
# Nothing of yours is touched: HOME, the target folder and the daemon's
# socket folder are throwaway; `cmdai uninstall --yes` runs at the end.
#
#   benches/first_answer.sh [--model-from FILE] [--binary FILE] [--keep]
#
#   --model-from FILE  put this GGUF into the fresh cache instead of
#                      downloading it (the pull then only verifies it and
#                      prepares the prompt); the JSON says which was measured
#   --binary FILE      give install.sh this release binary instead of building
#                      (to measure the rest again without a 30-minute build)
#   --keep             keep the throwaway folder (its path is printed)
#
# The machine's load average (from /proc/loadavg) at the start and the end
# goes into the JSON too: on shared cores it moves every figure.
#
# Your CARGO_HOME is used, so crates already downloaded are not fetched again;
# everything is compiled afresh. Uncommitted changes are not in the clone.
set -euo pipefail

model_from=""
binary=""
keep=0
while (($#)); do
  case "$1" in
    --model-from) model_from=$(realpath "$2"); shift ;;
    --binary) binary=$(realpath "$2"); shift ;;
    --keep) keep=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "first_answer.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rev=$(git -C "$repo" rev-parse HEAD)
work=$(mktemp -d "${TMPDIR:-/tmp}/cmdai-first-answer.XXXXXX")
mkdir -m 700 "$work/home" "$work/runtime"

# cargo and rustup stay where they are; everything else is the fresh HOME's.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$work/home" XDG_RUNTIME_DIR="$work/runtime" SHELL=/bin/bash
unset CARGO_TARGET_DIR XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME CMDAI_CACHE_DIR \
  CMDAI_CONFIG_DIR CMDAI_DATA_DIR CMDAI_SOCKET_DIR CMDAI_INSTALL_DIR CMDAI_MODEL
if command -v cmdai >/dev/null 2>&1; then
  echo "first_answer.sh: a cmdai is already on PATH ($(command -v cmdai)); run this where there is none" >&2
  exit 1
fi

cleanup() {
  if [ -x "$HOME/.local/bin/cmdai" ]; then "$HOME/.local/bin/cmdai" daemon stop >/dev/null 2>&1 || true; fi
  if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }
load_start=$(load)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
git clone -q "$repo" "$work/cmdai"
git -C "$work/cmdai" checkout -q "$rev"
t_clone=$(now)
echo "clone            $(secs "$t0" "$t_clone") s   ($rev)"

if [ -n "$model_from" ]; then
  mkdir -p "$HOME/.cache/cmdai/models"
  ln -s "$model_from" "$HOME/.cache/cmdai/models/"
fi

# install.sh's own lines, each with the time it appeared: they mark the phases.
log="$work/install.log"
t_install=$(now)
install_args=(--yes)
out_json="$repo/benches/results/first_answer.json"
if [ -n "$binary" ]; then
  install_args+=(--binary "$binary")
  out_json="$repo/benches/results/first_answer-prebuilt.json"
fi
if ! (cd "$work/cmdai" && ./install.sh "${install_args[@]}") 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(now)" "$line"
done >"$log"; then
  tail -n 20 "$log" >&2
  echo "first_answer.sh: install.sh failed" >&2
  exit 1
fi
t_installed=$(now)
at() { awk -v pat="$1" 'index($0, pat) { print $1; exit }' "$log"; }
t_built=$(at "install.sh: installed ")
t_fetch=$(at "install.sh: fetching the model")
t_rc=$(at "install.sh: added ")
if [ -z "$t_built" ] || [ -z "$t_fetch" ] || [ -z "$t_rc" ]; then
  tail -n 20 "$log" >&2
  echo "first_answer.sh: install.sh's lines were not as expected" >&2
  exit 1
fi
build_s=$(secs "$t_install" "$t_built")
if [ -n "$binary" ]; then
  echo "build            not measured (--binary $binary)"
  build_s=null
else
  echo "build            $build_s s   (./install.sh: tools check, cargo build --release)"
fi
model_source="downloaded"
[ -n "$model_from" ] && model_source="from $model_from"
echo "model pull       $(secs "$t_fetch" "$t_rc") s   ($model_source, verified, prompt prepared)"
echo "install.sh total $(secs "$t_install" "$t_installed") s"

cd "$HOME"
t1=$(now)
answer=$(bash -i -c 'cmdai "find large files"' 2>/dev/null)
t2=$(now)
warm=$(bash -i -c 'cmdai "show disk usage of this folder"' 2>/dev/null)
t3=$(now)
load_end=$(load)
echo "first request    $(secs "$t1" "$t2") s   (new bash: $answer)"
echo "warm request     $(secs "$t2" "$t3") s   (new bash: $warm)"
echo "clone to answer  $(secs "$t0" "$t2") s   (load average $load_start at the start, $load_end at the end)"

"$HOME/.local/bin/cmdai" uninstall --yes >/dev/null

cat >"$out_json" <<EOF
{
  "rev": "$rev",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "cpus": $(nproc),
  "load_avg_start": "$load_start",
  "load_avg_end": "$load_end",
  "cpu": "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)",
  "model_source": "$model_source",
  "clone_s": $(secs "$t0" "$t_clone"),
  "build_s": $build_s,
  "pull_s": $(secs "$t_fetch" "$t_rc"),
  "install_total_s": $(secs "$t_install" "$t_installed"),
  "first_request_s": $(secs "$t1" "$t2"),
  "warm_request_s": $(secs "$t2" "$t3"),
  "clone_to_first_answer_s": $(secs "$t0" "$t2"),
  "first_answer": "$(printf '%s' "$answer" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}
EOF
echo "wrote $out_json"
