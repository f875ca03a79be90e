#!/usr/bin/env bash
# Installs what the build and the tests need when it is missing: Debian
# packages with apt-get (as root, or through sudo) and the npm dev
# dependencies. Safe to run repeatedly; it does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v emcc >/dev/null 2>&1 || missing+=(emscripten)
[ -f /usr/include/xsimd/xsimd.hpp ] || missing+=(libxsimd-dev)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
command -v wasm-dis >/dev/null 2>&1 || missing+=(binaryen)
# The sanitizer suite and the libFuzzer target build with clang; the
# AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer runtimes of
# Debian 12's clang 14 come in libclang-rt-14-dev.
command -v clang++ >/dev/null 2>&1 || missing+=(clang)
compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' >/dev/null || missing+=(libclang-rt-14-dev)
if [ "${ATTNKIT_NEED_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-deps: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y "${missing[@]}"
fi

# node_modules records the hash of the lock file it was installed from, so
# a changed lock file triggers a clean install and an unchanged one none
# (file times are no guide after a fresh checkout).
#
# npm ci deletes everything inside node_modules first. When node_modules is
# a symbolic link (a git worktree sharing another checkout's packages), that
# would empty the other checkout's folder, so a linked folder is only checked.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -L node_modules ]; then
  if [ ! -d node_modules/jest ]; then
    echo "ensure-deps: node_modules is a symbolic link to a folder without jest; run npm ci where it points"
    exit 1
  fi
elif [ ! -d node_modules ] || [ "$(cat node_modules/.attnkit-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "ensure-deps: installing npm dev dependencies"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.attnkit-lock-hash
fi
