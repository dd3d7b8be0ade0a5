#!/usr/bin/env bash
# Builds the real servers PocketIDP's integration tests run on loopback
# (Gitea, kube-apiserver, etcd) from the Go module proxy, into a cache folder
# keyed by version. A binary already in the cache is reused, so the warm path
# takes a moment; a cold build takes tens of minutes on two cores.
#
# Usage: scripts/testbin/build.sh            builds what is missing
#        scripts/testbin/build.sh --print    prints the cache folder
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${POCKETIDP_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/testbin}"

if [[ "${1:-}" == "--print" ]]; then
  echo "$cache"
  exit 0
fi

# version MODULE DIR: the version the wrapper module in DIR requires (after replace).
version() { (cd "$here/$2" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$1"); }

gitea_v="$(version gitea.dev gitea)"
kube_v="$(version k8s.io/kubernetes kube-apiserver)"
etcd_v="$(version go.etcd.io/etcd/server/v3 etcd)"

# build NAME OUT DIR PKG LDFLAGS: go build into a temp name, then rename, so an
# interrupted build never leaves a binary that looks finished.
build() {
  local name="$1" out="$2" dir="$3" pkg="$4" ldflags="$5"
  if [[ -x "$out" ]]; then
    echo "testbin: $name cached at $out"
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  local start=$SECONDS
  echo "testbin: building $name (cold builds take minutes) ..."
  (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "testbin: built $name in $((SECONDS - start))s"
}

kube_minor="$(echo "$kube_v" | cut -d. -f2)"
pids=()
build gitea "$cache/gitea-$gitea_v/gitea" gitea gitea.dev \
  "-s -w -X main.Version=${gitea_v#v}" &
pids+=($!)
build kube-apiserver "$cache/kube-apiserver-$kube_v/kube-apiserver" kube-apiserver \
  k8s.io/kubernetes/cmd/kube-apiserver \
  "-s -w -X k8s.io/component-base/version.gitVersion=$kube_v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/component-base/version.gitTreeState=clean" &
pids+=($!)
build etcd "$cache/etcd-$etcd_v/etcd" etcd go.etcd.io/etcd/server/v3 "-s -w" &
pids+=($!)

status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

# Gitea serves templates and translations from its source tree when it is
# built without bindata: record where that tree is for the test helper.
(cd "$here/gitea" && go mod download gitea.dev && go list -m -f '{{.Dir}}' gitea.dev) > "$cache/gitea-$gitea_v/static-root"

cat > "$cache/versions.env" <<VERSIONS
GITEA=$cache/gitea-$gitea_v/gitea
GITEA_STATIC_ROOT=$(cat "$cache/gitea-$gitea_v/static-root")
KUBE_APISERVER=$cache/kube-apiserver-$kube_v/kube-apiserver
ETCD=$cache/etcd-$etcd_v/etcd
VERSIONS
exit $status
