#!/usr/bin/env bash
# CI: build and test pagequery in a Debian unstable (sid) root with sid's own
# toolchain: Kokkos 5 (libkokkos-dev, OpenMP only), GCC 16, CMake 4, CLI11 2.6,
# HDF5 2, GoogleTest, Python 3.14. Runs as root on a Debian machine whose apt
# reaches a Debian mirror (the one apt uses here; PAGEQUERY_SID_MIRROR overrides).
# Whatever happens, everything it mounted is unmounted, whatever still runs in
# the root is killed and the root is removed.
#
# The prepared root (debootstrap + packages) is cached per UTC day and package
# list in ${PAGEQUERY_SID_CACHE:-~/.cache/pagequery-ci} (PAGEQUERY_SID_CACHE=
# turns the cache off); without a cache entry it is built from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
say() { echo "pagequery unstable [$((SECONDS - t0))s]: $*"; }

packages=(g++ cmake ninja-build pkg-config libkokkos-dev libcli11-dev libgtest-dev libhdf5-dev hdf5-tools
          nlohmann-json3-dev libxxhash-dev python3-h5py python3-matplotlib)

root=""
mounted=()
job=""  # the process group of the command running now (see in_group)
exec 3>&1 4>&2  # the cleanup may run inside a command's redirection: it reports here
cleanup() {
  local rc=$? pid m i live
  set +e
  exec 1>&3 2>&4
  trap - EXIT INT TERM
  [ -n "$job" ] && kill -KILL -- "-$job" 2>/dev/null
  if [ -n "$root" ]; then
    for i in $(seq 50); do  # whatever runs in the root, by process id, until none is left
      live=0
      for pid in /proc/[0-9]*; do
        [ "$pid/root" -ef "$root" ] && kill -KILL "${pid#/proc/}" 2>/dev/null && live=1
      done
      [ "$live" = 0 ] && break
      sleep 0.2
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      m=${mounted[i]}
      umount "$m" 2>/dev/null || umount -l "$m" || echo "pagequery unstable: could not unmount $m" >&2
    done
    if findmnt -rn -o TARGET | grep -q "^$root\(/\|$\)"; then  # never delete through a mount
      echo "pagequery unstable: mounts remain under $root; not removing it" >&2
      rc=1
    elif rm -rf --one-file-system "$root"; then
      echo "pagequery unstable [$((SECONDS - t0))s]: cleaned up"
    else
      echo "pagequery unstable: could not remove $root" >&2
      rc=1
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

host_need=(debootstrap zstd)
missing=()
for p in "${host_need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian mirror apt uses here: the first source whose release is labelled Debian.
apt_mirror() {
  apt-cache policy | awk '$1 ~ /^[0-9]+$/ && NF >= 3 { uri = $2 }
                          $1 == "release" && /(^|,)l=Debian(,|$)/ && uri != "" { print uri; exit }'
}
mirror=${PAGEQUERY_SID_MIRROR:-$(apt_mirror)}
if [ -z "$mirror" ]; then  # apt has no lists yet
  apt-get update -qq
  mirror=$(apt_mirror)
fi
if [ -z "$mirror" ]; then
  echo "pagequery unstable: no Debian mirror in apt's sources (set PAGEQUERY_SID_MIRROR)" >&2
  exit 1
fi

root=$(mktemp -d /var/tmp/pagequery-sid.XXXXXX)
chmod 755 "$root"  # apt downloads as _apt
cache_dir=${PAGEQUERY_SID_CACHE-${XDG_CACHE_HOME:-$HOME/.cache}/pagequery-ci}
key="sid-$(date -u +%Y%m%d)-$(printf '%s\n' "$mirror" "${packages[@]}" | sha256sum | cut -c1-12)"
cached=${cache_dir:+$cache_dir/$key.tar.zst}

# Runs a command in a process group of its own, in the background and waited for:
# a signal reaches the cleanup at once, and the cleanup can kill the whole group.
in_group() {
  setsid "$@" &
  job=$!
  wait "$job"
}
chroot_run() { in_group chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
mount_in() {  # mount_in TARGET ARGS...: mounts and records it for the cleanup
  local target=$root/$1; shift
  mount "$@" "$target"
  mounted+=("$target")
}
# The root (about 2.5 GB with the build) lives in memory where there is room: removing
# its 30,000 files from disk took 9 to 100 s here, an unmount takes none.
if [ "$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)" -ge 8 ]; then
  mount -t tmpfs -o size=6g,mode=755 pagequery-sid "$root"
  mounted+=("$root")
fi

fresh=true
if [ -n "$cached" ] && [ -f "$cached" ]; then
  say "restoring the prepared root from $cached"
  zstd -dc "$cached" | tar -xf - -C "$root" || { rm -f "$cached"; exit 1; }  # a bad entry goes
  fresh=false
else
  say "debootstrap sid from $mirror"
  in_group debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    sid "$root" "$mirror" >/dev/null 2>&1 || { tail -20 "$root/debootstrap/debootstrap.log" >&2; exit 1; }
  # This mirror serves sid's Release past its Valid-Until date.
  printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/90pagequery"
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/90pagequery"
fi
mount_in proc -t proc proc
mount_in sys -t sysfs sysfs
mount_in dev --bind /dev
mount_in dev/shm -t tmpfs tmpfs  # not the host's /dev directory underneath

if $fresh; then
  say "installing ${#packages[@]} packages"
  chroot_run apt-get update -qq
  chroot_run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >"$root/tmp/install.log" 2>&1 ||
    { tail -30 "$root/tmp/install.log" >&2; exit 1; }
  chroot_run apt-get clean
  # Debian's libkokkos-dev (5.2.2-2) exports libkokkosalgorithms.a and libkokkossimd.a,
  # which no package ships; find_package(Kokkos) fails until they exist. Nothing links
  # code from them, so empty archives stand in for the ones that are missing.
  for lib in $(grep -ho '"${_IMPORT_PREFIX}/[^"]*\.a"' "$root"/usr/lib/*/cmake/Kokkos/KokkosTargets-*.cmake |
               sed 's|"${_IMPORT_PREFIX}|/usr|; s|"$||' | sort -u); do
    if [ ! -e "$root$lib" ]; then
      chroot_run ar rc "$lib"
      say "created the empty archive $lib (named by Debian's Kokkos CMake export, shipped by no package)"
    fi
  done
  if [ -n "$cached" ]; then
    mkdir -p "$cache_dir"
    rm -f "$cache_dir"/sid-*.tar.zst "$cache_dir"/sid-*.part  # one entry: today's
    tar -C "$root" --one-file-system --exclude=./tmp/install.log -cf - . | zstd -q -T2 -3 -o "$cached.part"
    mv "$cached.part" "$cached"
    say "cached the prepared root in $cached"
  fi
fi
versions=$(chroot_run dpkg-query -W -f='${Package} ${Version}, ' libkokkos-dev g++ cmake libcli11-dev libhdf5-dev \
           libgtest-dev python3)
say "${versions%, }"

# The source tree as git sees it (tracked and untracked, not ignored).
mkdir "$root/src"
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$root/src"

say "configure and build"
chroot_run cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT=/usr \
  -DPAGEQUERY_ENABLE_MPI=OFF >"$root/tmp/configure.log" 2>&1 || { cat "$root/tmp/configure.log" >&2; exit 1; }
chroot_run cmake --build /build -j2

say "test"
status=0
chroot_run env OMP_NUM_THREADS=2 OMP_PROC_BIND=false ctest --test-dir /build -j2 --output-on-failure \
  --timeout 600 --no-tests=error --output-log /tmp/ctest.log || status=$?
summary=$(grep -E '^[0-9]+% tests passed' "$root/tmp/ctest.log" || echo "no ctest summary")
say "$summary (wall $((SECONDS - t0)) s)"
exit "$status"
