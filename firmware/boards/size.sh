#!/usr/bin/env bash
# Flash and RAM use of a firmware ELF: text/data/bss (Berkeley format), then
# flash = text + data (.data's initial values live in flash) and
# RAM = data + bss (statics; the stack takes the rest of RAM).
#
# Uses llvm-size from rustup's llvm-tools component (installs it if missing:
# `rustup component add llvm-tools`), else llvm-size or arm-none-eabi-size on
# PATH. Host binutils `size` usually cannot read ARM ELFs, so it is not tried.
#
# Usage: firmware/boards/size.sh <elf> [<elf>...]
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <elf> [<elf>...]" >&2
  exit 2
fi

find_size() {
  local sysroot host tool
  if command -v rustc >/dev/null && command -v rustup >/dev/null; then
    sysroot=$(rustc --print sysroot)
    host=$(rustc -vV | sed -n 's/^host: //p')
    tool="$sysroot/lib/rustlib/$host/bin/llvm-size"
    if [ ! -x "$tool" ]; then
      echo "installing rustup component llvm-tools for llvm-size" >&2
      rustup component add llvm-tools >&2 || true
    fi
    if [ -x "$tool" ]; then echo "$tool"; return; fi
  fi
  for candidate in llvm-size arm-none-eabi-size; do
    if command -v "$candidate" >/dev/null; then command -v "$candidate"; return; fi
  done
  echo "no llvm-size: run 'rustup component add llvm-tools'" >&2
  exit 1
}

SIZE=$(find_size)
for elf in "$@"; do
  [ -f "$elf" ] || { echo "$elf: no such file" >&2; exit 1; }
  echo "== $elf"
  "$SIZE" -B "$elf"
  # Berkeley line 2: text data bss dec hex filename
  "$SIZE" -B "$elf" | awk 'NR == 2 {
    printf "flash %d bytes (text %d + data %d), static RAM %d bytes (data %d + bss %d)\n",
      $1 + $2, $1, $2, $2 + $3, $2, $3 }'
done
