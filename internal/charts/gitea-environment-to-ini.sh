#!/bin/sh
# environment-to-ini as the Gitea chart calls it, for Gitea 1.26 and later.
#
# The chart's init script (config_environment.sh) ends with
#   environment-to-ini -o "$GITEA_APP_INI"
# the flags of the standalone tool that Gitea images shipped up to 1.25.
# From 1.26 the image's environment-to-ini is a wrapper around
# `gitea config edit-ini --in-place --apply-env "$@"`, which has --out but
# no -o: the init container stops with "flag provided but not defined: -o"
# and Gitea never starts. PocketIDP mounts this script over the image's, in
# the init containers only: it takes the old flags and runs the new command.
in="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
  -o | --out) out=$2; shift 2 ;;
  -c | --config) in=$2; shift 2 ;;
  -C | --custom-path | -w | --work-path) shift 2 ;; # edit-ini takes none
  *) shift ;;
  esac
done
out=${out:-${in:-$GITEA_APP_INI}}
in=${in:-$out}
exec "${GITEA_BINARY:-/app/gitea/gitea}" config edit-ini --apply-env --config "$in" --out "$out"
