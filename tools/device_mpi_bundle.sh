#!/usr/bin/env bash
# Bundles this machine's Open MPI (Debian 12's 4.1: mpirun, orted, the MCA and PMIx
# plugins, their help texts and configuration) for the lent GPU machine, which has
# no MPI and no package manager, as .device-mpi.tar.gz (ignored by git; carry it).
# Open MPI finds its plugins at the paths it was built for, so the GPU machine
# unpacks the tree at / (a bare machine, given back after the call); the libraries
# they need beyond glibc go to .device-mpi-lib (put it on LD_LIBRARY_PATH):
#   tar -C / -xzf .device-mpi.tar.gz root && export LD_LIBRARY_PATH=$PWD/.device-mpi-lib:...
# tools/device_env.sh does both when the bundle is there.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=(usr/lib/x86_64-linux-gnu/openmpi usr/lib/x86_64-linux-gnu/pmix2 usr/share/openmpi etc/openmpi
      usr/bin/orterun usr/bin/orted)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/root" "$stage/.device-mpi-lib"
tar -C / -cf - "${tree[@]}" | tar -C "$stage/root" -xf -
find "/${tree[0]}" "/${tree[1]}" /usr/bin/orterun /usr/bin/orted -type f \( -name '*.so*' -o -perm -u+x \) |
  xargs -r ldd 2>/dev/null | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*|libcuda.so*) ;;
      *) cp -Ln "$lib" "$stage/.device-mpi-lib/" ;;
    esac
  done
tar -C "$stage" -czf .device-mpi.tar.gz root .device-mpi-lib
du -sh .device-mpi.tar.gz
