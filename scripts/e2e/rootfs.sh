#!/usr/bin/env bash
# Debian root filesystems for the e2e's images, as tarballs cached by recipe
# under $cache/rootfs/<flavour>-<hash>.tar (test tooling).
#
#   base    debootstrap --variant=minbase bookworm (what every flavour starts from)
#   <name>  base of its suite + `apt-get install --no-install-recommends <packages>` in a chroot
#
# Flavours are bookworm unless suites[] names another suite (postgres: trixie,
# the first Debian with PostgreSQL 17); each suite has its own base tarball,
# base-<hash>.tar (`base-trixie` on the command line).
#
# The hash covers the suite, the mirror and the package list (a flavour's
# hash covers its base tarball's path, whose hash covers the suite and the
# mirror), so changing a recipe builds a new tarball and leaves the old one
# for `clean`.
#
# Usage: scripts/e2e/rootfs.sh FLAVOUR...   builds what is missing, prints FLAVOUR=path lines
set -euo pipefail
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
out="$cache/rootfs"
default_suite=bookworm
mirror="${POCKETIDP_E2E_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Package lists, each named after the upstream image it stands for.
declare -A pkgs=(
  # kind's images/base/Dockerfile installs these (Debian names; containerd
  # and runc from Debian instead of kind's own builds).
  [node]="systemd systemd-sysv dbus containerd runc iptables nftables iproute2 procps ca-certificates jq containernetworking-plugins conntrack ethtool socat kmod curl util-linux mount libseccomp2 pigz"
  # docker-library/docker's dind variant: the engine, iptables, openssl for
  # the TLS certificates dockerd-entrypoint.sh makes, e2fsprogs/xz/pigz;
  # jq for runc-sandbox. Debian's docker.io brings containerd and runc.
  [dind]="docker.io iptables openssl e2fsprogs xz-utils pigz jq ca-certificates procps iproute2"
  # gitea/runner's basic variant (alpine + tini bash git tzdata).
  [runner]="tini bash git tzdata ca-certificates"
  # The job image for ubuntu-latest (catthehacker/docker.gitea.com
  # runner-images: git, the docker CLI, Node.js for JavaScript actions).
  [job]="git curl ca-certificates docker.io nodejs bash tar gzip"
  # Gitea's Dockerfile.rootless: bash ca-certificates dumb-init gettext git
  # curl gnupg openssh-keygen sqlite tzdata.
  [gitea]="bash ca-certificates dumb-init gettext-base git curl gnupg openssh-client sqlite3 tzdata"
  # Sources of single files for the small images (busybox, kube-proxy,
  # distroless-like bases, CA bundle and zoneinfo): busybox-static and ipsvd (the real tcpsvd,
  # which Debian's busybox lacks), iptables for kube-proxy.
  [tools]="busybox-static ipsvd iptables ca-certificates tzdata"
  # docker-library/postgres 17 (Debian variant): postgresql-17 and its
  # client from the distribution (upstream uses apt.postgresql.org's), with
  # xz and zstd as there; tzdata for TimeZone settings.
  [postgres]="postgresql-17 ca-certificates tzdata xz-utils zstd"
)
# Flavours not on the default suite.
declare -A suites=(
  [postgres]=trixie
)

say() { echo "rootfs: $*" >&2; }

# base [SUITE]: the debootstrap tarball of SUITE (default bookworm).
base() {
  local suite=${1:-$default_suite}
  local key; key=$(printf '%s\n' "debootstrap --variant=minbase $suite $mirror" | sha256sum | cut -c1-12)
  local tar="$out/base-$key.tar"
  if [ ! -f "$tar" ]; then
    command -v debootstrap >/dev/null || { say "debootstrap missing: apt-get install -y debootstrap"; exit 1; }
    local dir; dir=$(mktemp -d "$out/.base.XXXX")
    say "debootstrap $suite minbase (cold: ~6 min) ..."
    local start=$SECONDS
    debootstrap --variant=minbase "$suite" "$dir/root" "$mirror" >"$dir/log" 2>&1 || { tail -20 "$dir/log" >&2; exit 1; }
    rm -rf "$dir/root/var/cache/apt/archives/"*.deb "$dir/root/var/lib/apt/lists/"*
    tar -C "$dir/root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"
    say "$suite base built in $((SECONDS - start))s"
  fi
  echo "$tar"
}

flavour() {
  local name=$1 list=${pkgs[$1]:-}
  [ -n "$list" ] || { say "unknown flavour $name (known: ${!pkgs[*]})"; exit 2; }
  local b; b=$(base "${suites[$name]:-$default_suite}")
  local key; key=$(printf '%s\n' "$b" "$list" | sha256sum | cut -c1-12)
  local tar="$out/$name-$key.tar"
  if [ ! -f "$tar" ]; then
    local dir; dir=$(mktemp -d "$out/.$name.XXXX")
    mkdir "$dir/root" && tar -C "$dir/root" -xf "$b"
    cp /etc/resolv.conf "$dir/root/etc/resolv.conf"
    # Debian's postinst scripts would start services; policy-rc.d says no.
    printf '#!/bin/sh\nexit 101\n' >"$dir/root/usr/sbin/policy-rc.d"; chmod 755 "$dir/root/usr/sbin/policy-rc.d"
    say "$name: apt-get install $list ..."
    local start=$SECONDS
    mount -t proc proc "$dir/root/proc"
    if ! chroot "$dir/root" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $list" >"$dir/log" 2>&1; then
      umount "$dir/root/proc"; tail -20 "$dir/log" >&2; exit 1
    fi
    umount "$dir/root/proc"
    chroot "$dir/root" apt-get clean
    rm -rf "$dir/root/var/lib/apt/lists/"* "$dir/root/usr/sbin/policy-rc.d"
    : >"$dir/root/etc/resolv.conf"
    tar -C "$dir/root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"
    say "$name built in $((SECONDS - start))s"
  fi
  echo "$name=$tar"
}

mkdir -p "$out"
for f in "$@"; do
  case "$f" in
  base) echo "base=$(base)" ;;
  base-*) echo "$f=$(base "${f#base-}")" ;;
  *) flavour "$f" ;;
  esac
done
