#!/bin/sh
# The docker:dind image's entrypoint (docker-library/docker,
# dockerd-entrypoint.sh, and moby's hack/dind), for the e2e's DinD image
# built from Debian's docker.io. Same contract: with DOCKER_TLS_CERTDIR set,
# make a CA, a server and a client certificate under it (client/ is what
# other containers mount), then run dockerd on the unix socket and on
# tcp://0.0.0.0:2376 with --tlsverify; arguments starting with "-" go to
# dockerd.
set -eu

_tls_key() { [ -s "$1" ] || openssl genrsa -out "$1" 4096 >/dev/null 2>&1; }

_tls_san() {
  { ip -oneline address | awk '{ gsub(/\/.+$/, "", $4); print "IP:" $4 }'
    { cat /etc/hostname; echo docker; echo localhost; hostname -f; hostname -s; } | sed 's/^/DNS:/'
  } | sort -u | xargs printf '%s,' | sed 's/,$//'
}

_tls_generate_certs() {
  dir=$1
  if [ ! -s "$dir/ca/key.pem" ] || [ ! -s "$dir/ca/cert.pem" ]; then
    mkdir -p "$dir/ca"
    _tls_key "$dir/ca/key.pem"
    openssl req -new -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" -subj '/CN=docker:dind CA' -x509 -days 825
  fi
  if [ ! -s "$dir/server/cert.pem" ]; then
    mkdir -p "$dir/server"
    _tls_key "$dir/server/key.pem"
    openssl req -new -key "$dir/server/key.pem" -out "$dir/server/csr.pem" -subj '/CN=docker:dind server'
    printf '[ x509_exts ]\nsubjectAltName = %s\n' "$(_tls_san)" >"$dir/server/openssl.cnf"
    openssl x509 -req -in "$dir/server/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
      -out "$dir/server/cert.pem" -days 825 -extfile "$dir/server/openssl.cnf" -extensions x509_exts 2>/dev/null
    cp "$dir/ca/cert.pem" "$dir/server/ca.pem"
  fi
  if [ ! -s "$dir/client/cert.pem" ]; then
    mkdir -p "$dir/client"
    _tls_key "$dir/client/key.pem"
    chmod 0644 "$dir/client/key.pem" # other containers (the runner, CI jobs) read it, as upstream
    openssl req -new -key "$dir/client/key.pem" -out "$dir/client/csr.pem" -subj '/CN=docker:dind client'
    printf '[ x509_exts ]\nextendedKeyUsage = clientAuth\n' >"$dir/client/openssl.cnf"
    openssl x509 -req -in "$dir/client/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
      -out "$dir/client/cert.pem" -days 825 -extfile "$dir/client/openssl.cnf" -extensions x509_exts 2>/dev/null
    cp "$dir/ca/cert.pem" "$dir/client/ca.pem"
  fi
}

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
    _tls_generate_certs "$DOCKER_TLS_CERTDIR"
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
      --tlscacert "$DOCKER_TLS_CERTDIR/server/ca.pem" --tlscert "$DOCKER_TLS_CERTDIR/server/cert.pem" \
      --tlskey "$DOCKER_TLS_CERTDIR/server/key.pem" "$@"
  else
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
  fi
fi

if [ "$1" = dockerd ]; then
  # A stale pid file from an unclean stop keeps dockerd from starting.
  find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
  # moby's hack/dind: what a container needs to host containers.
  export container=docker
  if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
    mount -t securityfs none /sys/kernel/security || :
  fi
  mount --make-rshared / || :
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # cgroup v2: move ourselves to a leaf so controllers can be delegated.
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || :
  fi
  # dockerd 20.10 does not reap zombies as PID 1: docker-init (tini) does.
  if command -v docker-init >/dev/null; then set -- docker-init -- "$@"; fi
fi
exec "$@"
