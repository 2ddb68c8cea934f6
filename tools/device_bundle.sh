#!/usr/bin/env bash
# Bundles a CUDA build for the lent GPU machine: the binaries named on the command
# line (stripped) into .device-bin/ and every shared library they need that is not
# glibc's, the C++ runtime's or the CUDA driver's into .device-lib/ (both ignored by
# git; carry them with the run and set LD_LIBRARY_PATH=.device-lib there).
#   tools/device_bundle.sh build/cuda/bin/pagequery build/cuda/tests/core/pagequery_core_tests ...
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .device-bin .device-lib && mkdir -p .device-bin .device-lib
for bin in "$@"; do
  strip -o ".device-bin/$(basename "$bin")" "$bin"
  ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*|libcuda.so*) ;;
      *) cp -Ln "$lib" .device-lib/ ;;
    esac
  done
done
du -sh .device-bin .device-lib
