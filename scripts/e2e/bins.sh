#!/usr/bin/env bash
# Builds, from the Go module proxy, every binary the e2e's images hold, into
# $cache/bin/<name>-<version>/, reusing what is there (a binary is renamed
# into place only when its build finished). Test tooling: the product never
# runs these; the e2e packs them into images (images.sh).
#
# Usage: scripts/e2e/bins.sh [name...]   (default: all)
#        names: kube coredns pause registry runner localpath traefik
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
bin="$cache/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# Versions: Kubernetes is the one the test bed's kube-apiserver module pins
# (scripts/testbin/kube-apiserver), CoreDNS the one kubeadm of that version
# lists, Traefik the Traefik chart's appVersion (chart 41.3.0), registry and
# runner the ones PocketIDP's charts stand for (see README, e2e section).
KUBE_VERSION=v1.37.2
COREDNS_VERSION=v1.14.6
TRAEFIK_VERSION=v3.7.11
REGISTRY_VERSION=v3.0.0
RUNNER_VERSION=v1.0.8
# kind v0.33.0 ships local-path-provisioner as its default StorageClass; the
# proxy serves v0.0.33 (not the v0.0.34 kind builds from).
LOCALPATH_VERSION=v0.0.33

say() { echo "bins: $*" >&2; }

# srccopy MODULE@VERSION DIR: a writable copy of a module's source, so it
# builds with its own go.mod/go.sum (a module's replace lines only apply at
# its own root).
srccopy() {
  local dir
  dir=$(go mod download -json "$1" | jq -r .Dir)
  [ -d "$dir" ] || { say "go mod download $1 failed (is the module proxy reachable?)"; exit 1; }
  rm -rf "$2" && cp -r "$dir" "$2" && chmod -R u+w "$2"
  # Module zips keep no vendor/ content, but some keep vendor/modules.txt,
  # which would switch go build to -mod=vendor.
  rm -rf "$2/vendor"
}

# done OUTDIR: true when every named file is built.
have() { local d=$1; shift; for f in "$@"; do [ -x "$d/$f" ] || return 1; done; }

build_kube() {
  local out="$bin/kube-$KUBE_VERSION"
  have "$out" kubelet kubeadm kubectl kube-controller-manager kube-scheduler kube-proxy && return 0
  local minor; minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  mkdir -p "$out"
  # src/kube is the test bed's kube-apiserver wrapper module (every staging
  # module replaced by its published release, TESTBED-NOTES) with these
  # commands as tools, so its go.sum covers them.
  [ "$(cd "$here/src/kube" && go list -m -f '{{.Version}}' k8s.io/kubernetes)" = "$KUBE_VERSION" ] ||
    { say "scripts/e2e/src/kube does not require k8s.io/kubernetes $KUBE_VERSION"; exit 1; }
  for c in kubelet kubeadm kubectl kube-controller-manager kube-scheduler kube-proxy; do
    [ -x "$out/$c" ] && continue
    say "building $c $KUBE_VERSION ..."
    (cd "$here/src/kube" && go build -trimpath -ldflags "$ld" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$out/$c.tmp" "$out/$c"
  done
}

# from_module DIR NAME MODULE@VERSION PKG LDFLAGS: builds PKG (relative to
# the module root) of the module's source as $bin/DIR-VERSION/NAME, unless
# it is there.
from_module() {
  local dir=$1 name=$2 mod=$3 pkg=$4 ld=$5
  local out="$bin/$dir-${mod##*@}"
  have "$out" "$name" && return 0
  local src; src=$(mktemp -d)
  srccopy "$mod" "$src/m"
  say "building $name ${mod##*@} ..."
  mkdir -p "$out"
  (cd "$src/m" && go build -trimpath -ldflags "$ld" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"; rm -rf "$src"
}

build_coredns() {
  from_module coredns coredns "github.com/coredns/coredns@$COREDNS_VERSION" . "-s -w"
}

build_pause() {
  local key; key=$(sha256sum "$here/src/pause/main.go" | cut -c1-12)
  local out="$bin/pause-$key"
  have "$out" pause && return 0
  mkdir -p "$out"
  (cd "$here/src/pause" && go build -trimpath -ldflags "-s -w" -o "$out/pause.tmp" .)
  mv "$out/pause.tmp" "$out/pause"
}

# distribution's Dockerfile: static `registry` from ./cmd/registry, version
# stamped into the version package.
build_registry() {
  from_module registry registry "github.com/distribution/distribution/v3@$REGISTRY_VERSION" ./cmd/registry \
    "-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION -X github.com/distribution/distribution/v3/version.mainpkg=github.com/distribution/distribution/v3"
}

# The runner's Makefile: `go build -ldflags '-s -w -X .../ver.version=vX'`
# of the module root, named gitea-runner (act_runner's successor).
build_runner() {
  from_module runner gitea-runner "gitea.com/gitea/runner@$RUNNER_VERSION" . \
    "-s -w -X gitea.com/gitea/runner/internal/pkg/ver.version=$RUNNER_VERSION"
}

# local-path-provisioner's scripts/build: the module root, VERSION stamped.
build_localpath() {
  from_module local-path-provisioner local-path-provisioner "github.com/rancher/local-path-provisioner@$LOCALPATH_VERSION" . "-s -w -X main.VERSION=$LOCALPATH_VERSION"
}

# Traefik's Makefile builds ./cmd/traefik with the version stamped. Two
# fixes for the module zip (TESTBED-NOTES): the nested module
# github.com/traefik/traefik/dynamic/ext it replaces with a local folder is
# not in the zip (upstream it is three empty types and one method: a stub of
# the same shape), and the containous/go-http-auth pseudo-version its go.mod
# puts in place of github.com/abbot/go-http-auth is not served (an older
# one is, with the symbols Traefik uses).
build_traefik() {
  local out="$bin/traefik-$TRAEFIK_VERSION"
  have "$out" traefik && return 0
  local src; src=$(mktemp -d)
  srccopy "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" "$src/t"
  local ext="$src/t/pkg/config/dynamic/ext"
  if [ ! -f "$ext/go.mod" ]; then
    mkdir -p "$ext"
    printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n' >"$ext/go.mod"
    cat >"$ext/ext.go" <<'GO'
// Package ext is a stub of Traefik's nested module of the same path, which
// its module zip leaves out: upstream it holds exactly these types.
package ext

type HTTP struct{}
type Router struct{}
type RouterIng struct{}

func (RouterIng) ToRouter() Router { return Router{} }
GO
  fi
  say "building traefik $TRAEFIK_VERSION (cold: ~10 min on 2 cores) ..."
  (cd "$src/t" &&
    go mod edit -replace github.com/abbot/go-http-auth=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e &&
    GOFLAGS="-buildvcs=false -mod=mod" go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION -X github.com/traefik/traefik/v3/pkg/version.Codename=e2e" -o "$out/traefik.tmp" ./cmd/traefik)
  mkdir -p "$out"; mv "$out/traefik.tmp" "$out/traefik"; rm -rf "$src"
}

print_env() {
  cat <<ENV
KUBE_VERSION=$KUBE_VERSION
KUBE_BIN=$bin/kube-$KUBE_VERSION
COREDNS_VERSION=$COREDNS_VERSION
COREDNS=$bin/coredns-$COREDNS_VERSION/coredns
PAUSE=$bin/pause-$(sha256sum "$here/src/pause/main.go" | cut -c1-12)/pause
REGISTRY_VERSION=$REGISTRY_VERSION
REGISTRY=$bin/registry-$REGISTRY_VERSION/registry
RUNNER_VERSION=$RUNNER_VERSION
RUNNER=$bin/runner-$RUNNER_VERSION/gitea-runner
LOCALPATH_VERSION=$LOCALPATH_VERSION
LOCALPATH=$bin/local-path-provisioner-$LOCALPATH_VERSION/local-path-provisioner
TRAEFIK_VERSION=$TRAEFIK_VERSION
TRAEFIK=$bin/traefik-$TRAEFIK_VERSION/traefik
ENV
}

if [ "${1:-}" = --print ]; then print_env; exit 0; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(pause kube coredns registry runner localpath traefik)
for n in "${names[@]}"; do
  start=$SECONDS
  "build_$n"
  say "$n ready ($((SECONDS - start))s)"
done
