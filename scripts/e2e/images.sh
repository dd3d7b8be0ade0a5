#!/usr/bin/env bash
# Builds every image the e2e needs, in the e2e's private engine (engine.sh),
# from the binaries of bins.sh and the Debian root filesystems of rootfs.sh.
# Nothing is pulled: there is no registry to pull from here. Each recipe
# follows the upstream image's Dockerfile (paths, user, entrypoint, default
# config) and names it; each image is tagged exactly as PocketIDP's rendered
# manifests reference it, so `pocketidp up` runs with unmodified values.
#
# Caching: an image carries the label pocketidp.e2e.recipe=<hash of its recipe
# function and inputs>; an image whose label matches is reused. The engine's
# data root lives in the cache dir, so images survive between runs.
#
# Output: $cache/images.env (read by the Go e2e test):
#   NODE_IMAGE         the kind node image built here (tag)
#   PLATFORM_ARCHIVE   `docker save` of the platform's images, for kind's loader
#   DIND_ARCHIVE       `docker save` of the images CI jobs run in DinD
#
# Usage: scripts/e2e/images.sh   (needs root and a started engine)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
eval "$("$here/engine.sh" env)"
export DOCKER_HOST
work="$cache/work"
mkdir -p "$work" "$cache/images"

say() { echo "images: $*" >&2; }
t0=$SECONDS

# --- inputs ---
"$here/bins.sh" >&2
eval "$("$here/bins.sh" --print)"
declare -A rootfs
while IFS='=' read -r k v; do rootfs[$k]=$v; done < <("$here/rootfs.sh" base node dind runner job gitea tools postgres)
KIND_VERSION=v0.33.0
kind_files="$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)/images/base/files"
gitea_src="$(cd "$here/../testbin/gitea" && go mod download -json gitea.dev | jq -r .Dir)"
GITEA_BIN="$("$here/../testbin/build.sh" --print)/gitea-$(basename "$gitea_src" | sed 's/.*@//')/gitea"
distribution_src="$(go mod download -json "github.com/distribution/distribution/v3@$REGISTRY_VERSION" | jq -r .Dir)"
runner_src="$(go mod download -json "gitea.com/gitea/runner@$RUNNER_VERSION" | jq -r .Dir)"
for f in "$GITEA_BIN" "$kind_files/usr/local/bin/entrypoint"; do
  [ -e "$f" ] || { say "missing $f (run make testbin for Gitea; the module proxy for kind)"; exit 1; }
done

# --- helpers ---
PATHENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# key NAME INPUT...: the recipe hash of image NAME: its recipe function's
# text, this file's helpers, and the named inputs (paths carry versions and
# hashes; binaries are hashed by size and mtime, which a rebuild changes).
key() {
  local name=$1; shift
  {
    declare -f "recipe_$name" skel import_dir copy_with_libs
    for i in "$@"; do
      if [ -f "$i" ]; then echo "$i $(stat -c '%s %Y' "$i")"; else echo "$i"; fi
    done
  } | sha256sum | cut -c1-12
}
# fresh TAG KEY: true when TAG exists with recipe KEY.
fresh() { [ "$(docker image inspect -f '{{index .Config.Labels "pocketidp.e2e.recipe"}}' "$1" 2>/dev/null)" = "$2" ]; }
# skel DIR: what a minimal image needs: /tmp, passwd and group.
skel() {
  rm -rf "$1" && mkdir -p "$1"/{tmp,etc,bin,usr/local/bin,var/run,root}
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
}
# import_dir DIR TAG KEY [--change ...]: the folder as a one-layer image.
import_dir() {
  local dir=$1 tag=$2 k=$3; shift 3
  # --xattrs: file capabilities (CoreDNS binds :53 as nonroot through one).
  tar --xattrs --xattrs-include='security.capability' -C "$dir" -cf - . | docker import --change "$PATHENV" --change "LABEL pocketidp.e2e.recipe=$k" "$@" - "$tag" >/dev/null
}
# copy_with_libs ROOT DEST BIN...: copies BIN (paths inside ROOT) into DEST
# with the shared libraries ldd lists for them inside ROOT.
copy_with_libs() {
  local root=$1 dest=$2; shift 2
  for b in "$@"; do mkdir -p "$dest$(dirname "$b")" && cp -aL "$root$b" "$dest$b"; done
  chroot "$root" ldd "$@" 2>/dev/null | awk '/=>/ {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u | while read -r l; do
    [ -n "$l" ] && mkdir -p "$dest$(dirname "$l")" && cp -aL "$root$l" "$dest$l"
  done
}
# unpack FLAVOUR DIR: a rootfs.sh tarball into DIR.
unpack() { rm -rf "$2" && mkdir -p "$2" && tar -C "$2" -xf "${rootfs[$1]}"; }
tools="$work/tools"
unpack tools "$tools"

# build NAME TAG INPUT...: runs recipe_NAME DIR TAG KEY unless fresh.
build() {
  local name=$1 tag=$2; shift 2
  local k; k=$(key "$name" "$@")
  if fresh "$tag" "$k"; then say "$tag cached ($k)"; return 0; fi
  local start=$SECONDS
  "recipe_$name" "$work/$name" "$tag" "$k"
  rm -rf "${work:?}/$name"
  say "$tag built in $((SECONDS - start))s ($k)"
}

# --- control-plane images, as `kubeadm config images list` names them ---

# registry.k8s.io/<component>: distroless-static images holding one binary
# at /usr/local/bin (kubernetes/build/server-image).
recipe_kubecomponent() {
  local dir=$1 tag=$2 k=$3 c; c=$(basename "${tag%%:*}")
  skel "$dir"; cp "$KUBE_BIN/$c" "$dir/usr/local/bin/"
  import_dir "$dir" "$tag" "$k"
}
# registry.k8s.io/kube-proxy: kube-proxy needs iptables; upstream bases it on
# distroless-iptables, with iptables-wrapper picking nft or legacy the way
# kubernetes-sigs/iptables-wrappers does.
recipe_kubeproxy() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$KUBE_BIN/kube-proxy" "$dir/usr/local/bin/"
  cp "$tools/usr/bin/busybox" "$dir/bin/"
  for a in sh grep wc ls cat basename ln rm mkdir; do ln -sf busybox "$dir/bin/$a"; done
  copy_with_libs "$tools" "$dir" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi
  mkdir -p "$dir/usr/lib/x86_64-linux-gnu" && cp -a "$tools/usr/lib/x86_64-linux-gnu/xtables" "$dir/usr/lib/x86_64-linux-gnu/"
  # shellcheck disable=SC2046
  copy_with_libs "$tools" "$dir" $(cd "$tools" && ls usr/lib/x86_64-linux-gnu/xtables/*.so | sed 's#^#/#')
  cat >"$dir/usr/sbin/iptables-wrapper" <<'WRAP'
#!/bin/sh
# iptables-wrappers' logic: use the backend the kubelet already wrote its
# canary chains with (else the one with more rules), relink, re-exec.
n() { ( xtables-$1-multi iptables-save $2; xtables-$1-multi ip6tables-save $2 ) 2>/dev/null | grep -c "$3"; }
if [ "$(n nft '-t mangle' 'KUBE-IPTABLES-HINT\|KUBE-KUBELET-CANARY')" -gt 0 ]; then mode=nft
elif [ "$(n legacy '-t mangle' 'KUBE-IPTABLES-HINT\|KUBE-KUBELET-CANARY')" -gt 0 ]; then mode=legacy
elif [ "$(n legacy '' '^-')" -gt "$(n nft '' '^-')" ]; then mode=legacy
else mode=nft; fi
for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sf xtables-$mode-multi /usr/sbin/$c
done
exec /usr/sbin/xtables-$mode-multi "$(basename "$0")" "$@"
WRAP
  chmod 755 "$dir/usr/sbin/iptables-wrapper"
  for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do ln -sf iptables-wrapper "$dir/usr/sbin/$c"; done
  import_dir "$dir" "$tag" "$k"
}
# CoreDNS's Dockerfile: /coredns with cap_net_bind_service (setcap), so
# it binds :53 as nonroot; ENTRYPOINT ["/coredns"], USER nonroot.
recipe_coredns() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$COREDNS" "$dir/coredns"
  setcap cap_net_bind_service=+ep "$dir/coredns"
  mkdir -p "$dir/etc/ssl/certs" && cp -aL "$tools/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
  import_dir "$dir" "$tag" "$k" --change 'ENTRYPOINT ["/coredns"]' --change 'USER 65532:65532'
}
# registry.k8s.io/pause: /pause, ENTRYPOINT ["/pause"], USER 65535.
recipe_pause() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$PAUSE" "$dir/pause"
  import_dir "$dir" "$tag" "$k" --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535'
}
# registry.k8s.io/etcd: kubeadm v1.37.2 asks for etcd:3.7.0-0 (its nearest
# known version); the test bed builds etcd v3.6.16, which serves under that
# tag (kubeadm's flags and probes are the same).
recipe_etcd() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$ETCD" "$dir/usr/local/bin/"
  import_dir "$dir" "$tag" "$k"
}

# kind's default StorageClass: local-path-provisioner (its Dockerfile:
# alpine, /usr/bin/local-path-provisioner, CMD) and its helper image (a
# busybox: the helper pod runs sh, mkdir, chmod, rm), under the tags kind
# v0.33.0's storage manifest names (pkg/build/nodeimage/const_storage.go).
recipe_localpath() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; mkdir -p "$dir/usr/bin"; cp "$LOCALPATH" "$dir/usr/bin/local-path-provisioner"
  cp "$tools/usr/bin/busybox" "$dir/bin/busybox"
  for a in $("$dir/bin/busybox" --list); do [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"; done
  import_dir "$dir" "$tag" "$k" --change 'CMD ["local-path-provisioner"]'
}
recipe_localhelper() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$tools/usr/bin/busybox" "$dir/bin/busybox"
  for a in $("$dir/bin/busybox" --list); do [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"; done
  import_dir "$dir" "$tag" "$k" --change 'CMD ["sh"]'
}
kind_storage_go="$kind_files/../../../pkg/build/nodeimage/const_storage.go"
STORAGE_PROVISIONER_IMAGE=$(sed -n 's/^const storageProvisionerImage = "\(.*\)"$/\1/p' "$kind_storage_go")
STORAGE_HELPER_IMAGE=$(sed -n 's/^const storageHelperImage = "\(.*\)"$/\1/p' "$kind_storage_go")
[ -n "$STORAGE_PROVISIONER_IMAGE" ] && [ -n "$STORAGE_HELPER_IMAGE" ] || { say "cannot read kind's storage images from $kind_storage_go"; exit 1; }
build localpath "$STORAGE_PROVISIONER_IMAGE" "$LOCALPATH" "${rootfs[tools]}"
build localhelper "$STORAGE_HELPER_IMAGE" "${rootfs[tools]}"

ETCD="$("$here/../testbin/build.sh" --print)/etcd-v3.6.16/etcd"
APISERVER="$("$here/../testbin/build.sh" --print)/kube-apiserver-$KUBE_VERSION/kube-apiserver"
[ -x "$ETCD" ] && [ -x "$APISERVER" ] || { say "missing $ETCD or $APISERVER: run make testbin"; exit 1; }
cp -p "$APISERVER" "$KUBE_BIN/kube-apiserver" 2>/dev/null || true
KUBEADM_IMAGES=(
  "registry.k8s.io/kube-apiserver:$KUBE_VERSION"
  "registry.k8s.io/kube-controller-manager:$KUBE_VERSION"
  "registry.k8s.io/kube-scheduler:$KUBE_VERSION"
  "registry.k8s.io/kube-proxy:$KUBE_VERSION"
  "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
  "registry.k8s.io/pause:3.10.2"
  "registry.k8s.io/etcd:3.7.0-0"
)
want=$("$KUBE_BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null | sort)
have=$(printf '%s\n' "${KUBEADM_IMAGES[@]}" | sort)
[ "$want" = "$have" ] || { say "kubeadm lists other images than this script builds:"; diff <(echo "$want") <(echo "$have") >&2 || true; exit 1; }
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  build kubecomponent "registry.k8s.io/$c:$KUBE_VERSION" "$KUBE_BIN/$c"
done
build kubeproxy "registry.k8s.io/kube-proxy:$KUBE_VERSION" "$KUBE_BIN/kube-proxy" "${rootfs[tools]}"
build coredns "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$COREDNS"
build pause "registry.k8s.io/pause:3.10.2" "$PAUSE"
build etcd "registry.k8s.io/etcd:3.7.0-0" "$ETCD"
# What the node's containerd holds from the start, as in kind's node image.
NODE_PRELOAD=("${KUBEADM_IMAGES[@]}" "$STORAGE_PROVISIONER_IMAGE" "$STORAGE_HELPER_IMAGE")

# --- the kind node image ---

# kind's images/base/Dockerfile, on Debian's packages (rootfs.sh node), with
# kind's node-image step (kubelet, kubeadm, kubectl, the kubeadm images in
# containerd, /kind/version) done by hand because `kind build node-image`
# pulls. Differences from kind's image, each needed here:
#  - containerd and the CNI plugins come from Debian (paths adjusted);
#  - containerd runs runc through runc-sandbox (see that file);
#  - a static ptp CNI config replaces kindnetd (single node, 10.244.0.0/24:
#    what kind's controller-manager gives the first node);
#  - local-path-provisioner is v0.0.33 (what the module proxy serves);
#  - kubelet runs on cgroup v1 (--fail-cgroupv1=false), after a fix-up that
#    creates its cgroup in the v1 hierarchies systemd mounts late.
recipe_node() {
  local dir=$1 tag=$2 k=$3 R="$1/root"
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[node]}"
  local K="$kind_files"
  install -m755 "$K"/usr/local/bin/* "$R/usr/local/bin/"
  mkdir -p "$R/kind/bin" "$R/kind/manifests" "$R/etc/systemd/system/kubelet.service.d" "$R/etc/kubernetes/manifests" "$R/etc/containerd"
  install -m755 "$K"/kind/bin/* "$R/kind/bin/"
  install -m644 "$K/etc/crictl.yaml" "$R/etc/"
  install -m644 "$K"/etc/sysctl.d/* "$R/etc/sysctl.d/"
  install -m644 "$K"/etc/systemd/system/{kubelet.service,kubelet.slice,undo-mount-hacks.service} "$R/etc/systemd/system/"
  install -m644 "$K"/etc/systemd/system/kubelet.service.d/* "$R/etc/systemd/system/kubelet.service.d/"
  sed 's#/usr/local/bin/containerd#/usr/bin/containerd#' "$K/etc/systemd/system/containerd.service" >"$R/etc/systemd/system/containerd.service"
  install -m755 "$KUBE_BIN/kubelet" "$KUBE_BIN/kubeadm" "$KUBE_BIN/kubectl" "$R/usr/bin/"
  # kind's 10-kubeadm.conf sources this file.
  printf 'KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service --fail-cgroupv1=false\n' >"$R/etc/default/kubelet"
  install -m755 "$here/runc-sandbox" "$R/usr/local/bin/runc-sandbox"
  # kind's containerd config, minus the fuse-overlayfs proxy plugin, runc
  # through the wrapper, the sandbox image kubeadm lists.
  local rt
  {
    printf 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  discard_unpacked_layers = true\n  snapshotter = "overlayfs"\n  default_runtime_name = "runc"\n'
    for rt in runc test-handler; do
      printf '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]\n  runtime_type = "io.containerd.runc.v2"\n  base_runtime_spec = "/etc/containerd/cri-base.json"\n  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s.options]\n    SystemdCgroup = true\n    BinaryName = "/usr/local/bin/runc-sandbox"\n' "$rt" "$rt"
    done
    printf '\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10.2"\n  tolerate_missing_hugepages_controller = true\n  restrict_oom_score_adj = false\n'
  } >"$R/etc/containerd/config.toml"
  # kind's base image makes cri-base.json this way: containerd's default
  # spec, plus the product-files hook, minus the rlimits.
  chroot "$R" ctr oci spec | jq '.hooks.createContainer += [{"path": "/kind/bin/mount-product-files.sh"}] | del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
  mkdir -p "$R/opt/cni/bin" "$R/etc/cni/net.d"
  for p in "$R"/usr/lib/cni/*; do ln -sf "/usr/lib/cni/$(basename "$p")" "$R/opt/cni/bin/"; done
  cat >"$R/etc/cni/net.d/10-pocketidp-e2e.conflist" <<'CNI'
{
  "cniVersion": "0.4.0",
  "name": "pocketidp-e2e",
  "plugins": [
    {"type": "ptp", "ipMasq": true, "mtu": 1500,
     "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam-state", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
  # kind pipes this to `kubectl create -f -`, which fails on no objects.
  cat >"$R/kind/manifests/default-cni.yaml" <<'Y'
# Pod networking is the static ptp config in /etc/cni/net.d; nothing to deploy.
apiVersion: v1
kind: ConfigMap
metadata:
  name: pocketidp-e2e-cni
  namespace: kube-system
data:
  cni: static ptp 10.244.0.0/24 (/etc/cni/net.d/10-pocketidp-e2e.conflist)
Y
  # kind's own storage manifest (local-path-provisioner, StorageClass
  # standard), as its node-image build writes it.
  awk '/^const defaultStorageManifest = `/ {on=1; next} on && /^`/ {exit} on {print}' "$kind_storage_go" |
    sed -e "s#\` + storageProvisionerImage + \`#$STORAGE_PROVISIONER_IMAGE#" -e "s#\` + storageHelperImage + \`#$STORAGE_HELPER_IMAGE#" \
      >"$R/kind/manifests/default-storage.yaml"
  grep -q "image: $STORAGE_PROVISIONER_IMAGE" "$R/kind/manifests/default-storage.yaml" || { say "kind's storage manifest changed shape"; exit 1; }
  cat >"$R/kind/bin/cgroupv1-fixup.sh" <<'SH'
#!/bin/sh
# cgroup v1 only. kind's entrypoint makes /kubelet and /kubelet.slice in the
# hierarchies the engine gave the node; systemd mounts the others later
# (hugetlb, perf_event, net_cls,net_prio), and kubelet then stops with
# 'cgroup ["kubelet"] has some missing paths'. Make them everywhere.
[ -f /sys/fs/cgroup/cgroup.controllers ] && exit 0
for d in /sys/fs/cgroup/*; do
  [ -d "$d" ] && [ ! -L "$d" ] || continue
  case "$d" in */unified) continue ;; esac
  mkdir -p "$d/kubelet" "$d/kubelet.slice" 2>/dev/null || true
done
SH
  chmod 755 "$R/kind/bin/cgroupv1-fixup.sh"
  printf '[Service]\nExecStartPre=/kind/bin/cgroupv1-fixup.sh\n' >"$R/etc/systemd/system/kubelet.service.d/12-cgroupv1-fixup.conf"
  # systemd as kind's Dockerfile trims and enables it.
  find "$R/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$R"/lib/systemd/system/multi-user.target.wants/* "$R"/etc/systemd/system/*.wants/* \
    "$R"/lib/systemd/system/local-fs.target.wants/* "$R"/lib/systemd/system/sockets.target.wants/*udev* \
    "$R"/lib/systemd/system/sockets.target.wants/*initctl* "$R"/lib/systemd/system/basic.target.wants/*
  echo ReadKMsg=no >>"$R/etc/systemd/journald.conf"
  chroot "$R" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "$R" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  echo -n "$KUBE_VERSION" >"$R/kind/version"
  : >"$R/etc/resolv.conf"
  # Preload kubeadm's images into the node's containerd, as kind's
  # node-image build does, then commit with kind's entrypoint.
  local base="pocketidp-e2e/node-base:$k" c="pocketidp-e2e-nodebuild-$k"
  tar -C "$R" -cf - . | docker import --change 'ENV container=docker' - "$base" >/dev/null
  rm -rf "$R"
  docker rm -f "$c" >/dev/null 2>&1 || true
  docker run -d --name "$c" --privileged --network none --entrypoint /usr/bin/sleep "$base" infinity >/dev/null
  docker exec -d "$c" sh -c 'containerd >/var/log/containerd-build.log 2>&1'
  for _ in $(seq 1 30); do docker exec "$c" ctr version >/dev/null 2>&1 && break; sleep 1; done
  docker save "${NODE_PRELOAD[@]}" | docker exec -i "$c" ctr -n k8s.io images import --all-platforms --no-unpack --digests --compress-blobs - >/dev/null
  for img in "${NODE_PRELOAD[@]}"; do
    # containerd 1.6's import has no --label (kind 0.33 passes one).
    docker exec "$c" ctr -n k8s.io images label "$img" io.cri-containerd.pinned=pinned >/dev/null
  done
  docker exec "$c" sh -c 'kill $(pidof containerd); for i in 1 2 3 4 5 6 7 8 9 10; do pidof containerd >/dev/null || break; sleep 1; done; rm -rf /run/containerd /var/log/containerd-build.log'
  docker stop -t 1 "$c" >/dev/null
  # Docker 20.10's commit takes no STOPSIGNAL change; kind removes nodes with rm -f.
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' --change 'ENV container=docker' \
    --change "LABEL pocketidp.e2e.recipe=$k" "$c" "$tag" >/dev/null
  docker rm -f "$c" >/dev/null
  docker rmi "$base" >/dev/null
}
# NODE_INPUTS: everything the node image is made of.
NODE_INPUTS=("${rootfs[node]}" "$kind_storage_go" "$KUBE_BIN/kubelet" "$KUBE_BIN/kubeadm" "$KUBE_BIN/kubectl" "$kind_files" "$here/runc-sandbox")
for img in "${NODE_PRELOAD[@]}"; do NODE_INPUTS+=("$img=$(docker image inspect -f '{{.Id}}' "$img")"); done
NODE_TAG="pocketidp-e2e/node:$KUBE_VERSION-$(key node "${NODE_INPUTS[@]}")"
build node "$NODE_TAG" "${NODE_INPUTS[@]}"

# --- the platform's images ---

# Traefik's Dockerfile (traefik/traefik-library-image): alpine with
# ca-certificates and tzdata, /traefik, EXPOSE 80, VOLUME /tmp,
# ENTRYPOINT ["/traefik"]. The chart runs it as 65532 read-only.
recipe_traefik() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$TRAEFIK" "$dir/traefik"
  mkdir -p "$dir/etc/ssl/certs" "$dir/usr/share"
  cp -aL "$tools/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
  cp -a "$tools/usr/share/zoneinfo" "$dir/usr/share/"
  import_dir "$dir" "$tag" "$k" --change 'EXPOSE 80' --change 'VOLUME ["/tmp"]' --change 'ENTRYPOINT ["/traefik"]'
}
build traefik "traefik:$TRAEFIK_VERSION" "$TRAEFIK" "${rootfs[tools]}"

# Gitea's Dockerfile.rootless at the pinned version: its runtime packages,
# user git (1000:1000, home /var/lib/gitea/git), /var/lib/gitea and
# /etc/gitea owned by git, docker/rootless/ copied to /, the binary at
# /app/gitea/gitea, its ENV, VOLUMEs, WORKDIR, USER and ENTRYPOINT. One
# difference: the test bed's Gitea is built without bindata (no Node
# frontend build here), so the image carries the source's templates,
# options and public folders beside the binary and points STATIC_ROOT_PATH
# at them through a GITEA__ variable, which the chart's init container
# writes into app.ini like any other.
recipe_gitea() {
  local dir=$1 tag=$2 k=$3 R="$1/root"
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[gitea]}"
  chroot "$R" groupadd -g 1000 git
  chroot "$R" useradd -M -d /var/lib/gitea/git -s /bin/bash -u 1000 -g git git
  mkdir -p "$R/var/lib/gitea" "$R/etc/gitea" "$R/app/gitea"
  chroot "$R" chown git:git /var/lib/gitea /etc/gitea
  cp -r "$gitea_src/docker/rootless/." "$R/"
  chmod 755 "$R"/usr/local/bin/* && chmod -R u+w "$R/etc/templates"
  install -m755 "$GITEA_BIN" "$R/app/gitea/gitea"
  for d in templates options public; do cp -r "$gitea_src/$d" "$R/app/gitea/"; done
  chmod -R a+rX,u+w "$R/app/gitea"
  tar -C "$R" -cf - . | docker import --change "$PATHENV" --change "LABEL pocketidp.e2e.recipe=$k" \
    --change 'EXPOSE 2222 3000' --change 'USER 1000:1000' \
    --change 'ENV GITEA_WORK_DIR=/var/lib/gitea' --change 'ENV GITEA_CUSTOM=/var/lib/gitea/custom' \
    --change 'ENV GITEA_TEMP=/tmp/gitea' --change 'ENV TMPDIR=/tmp/gitea' \
    --change 'ENV GITEA_APP_INI=/etc/gitea/app.ini' --change 'ENV HOME=/var/lib/gitea/git' \
    --change 'ENV GITEA__server__STATIC_ROOT_PATH=/app/gitea' \
    --change 'VOLUME ["/var/lib/gitea", "/etc/gitea"]' --change 'WORKDIR /var/lib/gitea' \
    --change 'ENTRYPOINT ["/usr/bin/dumb-init", "--", "/usr/local/bin/docker-entrypoint.sh"]' \
    - "$tag" >/dev/null
}
build gitea "docker.gitea.com/gitea:1.27.3-rootless" "${rootfs[gitea]}" "$GITEA_BIN" "$gitea_src"

# distribution's Dockerfile at the pinned version: /bin/registry, its
# cmd/registry/config-dev.yml as /etc/distribution/config.yml (debug server
# on :5001, log level debug: the defaults PocketIDP's chart must override),
# VOLUME /var/lib/registry, EXPOSE 5000, ENTRYPOINT registry, CMD serve.
# Alpine's busybox gives it sh, which the chart's init container uses.
recipe_registry() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$REGISTRY" "$dir/bin/registry"
  cp "$tools/usr/bin/busybox" "$dir/bin/"
  for a in sh mkdir printf cat ls; do ln -sf busybox "$dir/bin/$a"; done
  mkdir -p "$dir/etc/distribution" "$dir/etc/ssl/certs" "$dir/var/lib/registry"
  cp "$distribution_src/cmd/registry/config-dev.yml" "$dir/etc/distribution/config.yml"
  cp -aL "$tools/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
  import_dir "$dir" "$tag" "$k" --change 'VOLUME ["/var/lib/registry"]' --change 'EXPOSE 5000' \
    --change 'ENTRYPOINT ["registry"]' --change 'CMD ["serve", "/etc/distribution/config.yml"]'
}
build registry "registry:3.0.0" "$REGISTRY" "$distribution_src" "${rootfs[tools]}"

# gitea/runner's Dockerfile, basic variant (act_runner's successor; the
# chart's act_runner tag stands for it): tini, bash, git, tzdata; the binary
# and scripts/run.sh; VOLUME /data; ENTRYPOINT tini -- run.sh.
recipe_runner() {
  local dir=$1 tag=$2 k=$3 R="$1/root"
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[runner]}"
  install -m755 "$RUNNER" "$R/usr/local/bin/gitea-runner"
  install -m755 "$runner_src/scripts/run.sh" "$R/usr/local/bin/run.sh"
  mkdir -p "$R/data"
  tar -C "$R" -cf - . | docker import --change "$PATHENV" --change "LABEL pocketidp.e2e.recipe=$k" \
    --change 'VOLUME ["/data"]' --change 'ENTRYPOINT ["/usr/bin/tini", "--", "run.sh"]' - "$tag" >/dev/null
}
build runner "gitea/act_runner:0.2.13" "$RUNNER" "$runner_src" "${rootfs[runner]}"

# docker-library/docker's dind variant: the engine (Debian's docker.io
# here), dockerd-entrypoint.sh (TLS certificates in $DOCKER_TLS_CERTDIR,
# then dockerd on the socket and tcp 2376), ENV DOCKER_TLS_CERTDIR=/certs,
# VOLUME /var/lib/docker, EXPOSE 2375 2376.
recipe_dind() {
  local dir=$1 tag=$2 k=$3 R="$1/root"
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[dind]}"
  install -m755 "$here/dind/dockerd-entrypoint.sh" "$R/usr/local/bin/dockerd-entrypoint.sh"
  mkdir -p "$R/certs" "$R/var/lib/docker"
  tar -C "$R" -cf - . | docker import --change "$PATHENV" --change "LABEL pocketidp.e2e.recipe=$k" \
    --change 'ENV DOCKER_TLS_CERTDIR=/certs' --change 'VOLUME ["/var/lib/docker", "/certs"]' \
    --change 'EXPOSE 2375 2376' --change 'ENTRYPOINT ["dockerd-entrypoint.sh"]' - "$tag" >/dev/null
}
build dind "docker:28.5.2-dind" "${rootfs[dind]}" "$here/dind/dockerd-entrypoint.sh"

# The busybox image: /bin/busybox with its applets linked. Debian's
# busybox-static lacks tcpsvd (the chart's forwarders run it), so the real
# tcpsvd from ipsvd goes beside it, with its libraries.
recipe_busybox() {
  local dir=$1 tag=$2 k=$3
  skel "$dir"; cp "$tools/usr/bin/busybox" "$dir/bin/busybox"
  for a in $("$dir/bin/busybox" --list); do [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"; done
  copy_with_libs "$tools" "$dir" /usr/bin/tcpsvd
  import_dir "$dir" "$tag" "$k" --change 'CMD ["sh"]'
}
build busybox "busybox:1.38.0" "${rootfs[tools]}"

# The job image for `ubuntu-latest` (docker.gitea.com/runner-images): git
# (over libcurl), the docker CLI, Node.js for JavaScript actions; Debian
# instead of Ubuntu.
recipe_job() {
  local dir=$1 tag=$2 k=$3 R="$1/root"
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[job]}"
  tar -C "$R" -cf - . | docker import --change "$PATHENV" --change "LABEL pocketidp.e2e.recipe=$k" \
    --change 'CMD ["bash"]' - "$tag" >/dev/null
}
build job "docker.gitea.com/runner-images:ubuntu-latest" "${rootfs[job]}"

# docker-library/postgres 17 (its Debian variant's layout; the course's
# resource definition asks for postgres:17-alpine): PostgreSQL 17 from Debian
# trixie (rootfs.sh postgres) with the bin dir on PATH, the postgres user's
# home /var/lib/postgresql, /var/run/postgresql 3777, PGDATA
# /var/lib/postgresql/data (1777, so any uid or fsGroup can make its data dir
# there) as a VOLUME, listen_addresses='*' in postgresql.conf.sample,
# /docker-entrypoint-initdb.d, our own docker-entrypoint.sh (see that file),
# STOPSIGNAL SIGINT (fast shutdown), EXPOSE 5432, CMD postgres. Besides
# postgres, /etc/passwd has uid 65532 (nonroot), the uid the course's
# StatefulSet runs it as: initdb refuses a uid without an entry (upstream
# covers that with nss_wrapper). Docker 20.10's import takes no STOPSIGNAL,
# so a build with no context adds it to the imported image.
recipe_postgres() {
  local dir=$1 tag=$2 k=$3 R="$1/root" major=17 version
  mkdir -p "$R" && tar -C "$R" -xf "${rootfs[postgres]}"
  version=$(chroot "$R" dpkg-query -W -f '${Version}' "postgresql-$major")
  # The cluster postgresql-common's postinst makes, if it made one.
  rm -rf "${R:?}/etc/postgresql/$major" "${R:?}/var/lib/postgresql/$major"
  # Documentation and localedef's sources (upstream's slim images drop these too).
  rm -rf "$R"/usr/share/{doc,man,info,i18n}
  chroot "$R" groupadd -g 65532 nonroot
  chroot "$R" useradd -M -d /var/lib/postgresql -s /bin/sh -u 65532 -g nonroot nonroot
  mkdir -p "$R/var/lib/postgresql/data" "$R/run/postgresql" "$R/docker-entrypoint-initdb.d"
  chroot "$R" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /run/postgresql
  chmod 1777 "$R/var/lib/postgresql/data"
  chmod 3777 "$R/run/postgresql"
  local sample="$R/usr/share/postgresql/$major/postgresql.conf.sample"
  sed -ri "s/^#?(listen_addresses)[[:space:]]*=[[:space:]]*[^[:space:]]+(.*)/\\1 = '*'\\2/" "$sample"
  grep -q "^listen_addresses = '\\*'" "$sample" || { say "no listen_addresses line in $sample"; exit 1; }
  install -m755 "$here/postgres/docker-entrypoint.sh" "$R/usr/local/bin/docker-entrypoint.sh"
  local id
  id=$(tar -C "$R" -cf - . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/$major/bin" \
    --change 'ENV LANG=C.UTF-8' --change "ENV PG_MAJOR=$major" --change "ENV PG_VERSION=$version" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' --change 'VOLUME ["/var/lib/postgresql/data"]' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'EXPOSE 5432' --change 'CMD ["postgres"]' -)
  printf 'FROM %s\nSTOPSIGNAL SIGINT\nLABEL pocketidp.e2e.recipe=%s\n' "$id" "$k" |
    DOCKER_BUILDKIT=0 docker build -q --network none -t "$tag" - >/dev/null
}
build postgres "postgres:17-alpine" "${rootfs[postgres]}" "$here/postgres/docker-entrypoint.sh"

# --- the pinned node reference ---

# PocketIDP creates its cluster from the node image it pins by digest
# (internal/cluster.NodeImage), which cannot be pulled here. The e2e's
# private engine is told that this reference is the node image built above,
# by the record `docker pull` would have left in its reference store
# (image/overlay2/repositories.json), so `up` runs unchanged. Only this
# engine's data root is touched, with the engine stopped.
PINNED=$(sed -n 's/^const NodeImage = "\(.*\)"$/\1/p' "$here/../../internal/cluster/config.go")
[ -n "$PINNED" ] || { say "cannot read NodeImage from internal/cluster/config.go"; exit 1; }
node_id=$(docker image inspect -f '{{.Id}}' "$NODE_TAG")
if [ "$(docker image inspect -f '{{.Id}}' "$PINNED" 2>/dev/null)" != "$node_id" ]; then
  repo=${PINNED%%:*}
  digest_ref="$repo@${PINNED#*@}"
  say "recording $digest_ref as $NODE_TAG in the e2e engine (restarts it)"
  "$here/engine.sh" stop
  refs="$cache/docker/image/overlay2/repositories.json"
  jq -c --arg r "$repo" --arg d "$digest_ref" --arg id "$node_id" '.Repositories[$r][$d] = $id' "$refs" >"$refs.tmp"
  mv "$refs.tmp" "$refs"
  "$here/engine.sh" start >/dev/null
  [ "$(docker image inspect -f '{{.Id}}' "$PINNED")" = "$node_id" ] || { say "$PINNED still does not resolve to $NODE_TAG"; exit 1; }
fi

# --- what the e2e test reads ---

PLATFORM_IMAGES=("traefik:$TRAEFIK_VERSION" "docker.gitea.com/gitea:1.27.3-rootless" "registry:3.0.0"
  "gitea/act_runner:0.2.13" "docker:28.5.2-dind" "busybox:1.38.0"
  # What apps the local orchestrator deploys run on (the course's postgres resource).
  "postgres:17-alpine")
DIND_IMAGES=("docker.gitea.com/runner-images:ubuntu-latest" "busybox:1.38.0")
# save NAME IMAGE...: one archive per set of image ids (reused while they stay).
save() {
  local name=$1; shift
  local ids; ids=$(docker image inspect -f '{{.Id}}' "$@" | sha256sum | cut -c1-12)
  local f="$cache/images/$name-$ids.tar"
  if [ ! -f "$f" ]; then
    rm -f "$cache/images/$name-"*.tar
    docker save "$@" -o "$f.tmp" && mv "$f.tmp" "$f"
  fi
  echo "$f"
}
# Images a changed recipe replaced: untagged, only disk.
docker image prune -f >/dev/null
PLATFORM_ARCHIVE=$(save platform "${PLATFORM_IMAGES[@]}")
DIND_ARCHIVE=$(save dind "${DIND_IMAGES[@]}")
cat >"$cache/images.env" <<ENV
NODE_IMAGE=$NODE_TAG
PLATFORM_ARCHIVE=$PLATFORM_ARCHIVE
DIND_ARCHIVE=$DIND_ARCHIVE
DOCKER_HOST=$DOCKER_HOST
KUBECTL=$KUBE_BIN/kubectl
ENV
say "all images ready in $((SECONDS - t0))s; $cache/images.env"
