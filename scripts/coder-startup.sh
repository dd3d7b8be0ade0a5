#!/usr/bin/env bash
# Coder workspace startup script for PocketIDP.
#
# Runs on every workspace start and converges: it installs pocketidp or
# updates it when the source holds another version, runs `pocketidp up --yes`
# (which skips what already exists), and leaves HUMANITEC_ORG exported for the
# user's shells. Use it as the coder_agent's startup_script.
#
# Variables (set them in the template's coder_agent env):
#   POCKETIDP_SOURCE   URL (http/https) or local path of the pocketidp binary.
#                      Needed unless pocketidp is installed and POCKETIDP_VERSION
#                      matches it.
#   POCKETIDP_VERSION  the version wanted (e.g. v0.3.1). When the installed
#                      binary reports it, nothing is downloaded at all.
#   POCKETIDP_SHA256   optional checksum of the downloaded binary.
#   POCKETIDP_BIN_DIR  where to install (default ~/.local/bin).
#   POCKETIDP_ARGS     extra arguments for `pocketidp up` (e.g. "--port 9443").
#   HUMANITEC_ORG, HUMANITEC_TOKEN
#                      passed to pocketidp as they are; without them, up builds
#                      everything but the Humanitec registration.
#
# The token is never printed nor written anywhere by this script.
set -euo pipefail

bin_dir="${POCKETIDP_BIN_DIR:-$HOME/.local/bin}"
bin="$bin_dir/pocketidp"
state_dir="$HOME/.config/pocketidp"
log_dir="$HOME/.cache/pocketidp"
log="$log_dir/coder-startup.log"

say() { printf 'pocketidp-startup: %s\n' "$*"; }
die() {
	say "error: $*"
	exit 1
}

# Temporary files to remove however main ends (it runs in a subshell of the
# pipeline below, so its own EXIT trap does the cleaning).
tmp_files=()

version_of() { # prints the version a pocketidp binary reports, or nothing
	[ -x "$1" ] || return 0
	"$1" version 2>/dev/null | awk 'NR == 1 { print $2 }' || true
}

fetch() { # fetch SOURCE DEST
	case "$1" in
	http://* | https://*)
		command -v curl >/dev/null 2>&1 || die "curl is needed to download $1"
		curl -fsSL --retry 3 --retry-delay 2 -o "$2" "$1" || die "download $1 failed"
		;;
	file://*) cp "${1#file://}" "$2" || die "copy ${1#file://} failed" ;;
	*) cp "$1" "$2" || die "copy $1 failed" ;;
	esac
}

install_or_update() {
	local have want="${POCKETIDP_VERSION:-}" source="${POCKETIDP_SOURCE:-}" tmp new
	have="$(version_of "$bin")"
	if [ -n "$have" ] && [ -n "$want" ] && [ "$have" = "$want" ]; then
		say "pocketidp $have is installed"
		return
	fi
	if [ -z "$source" ]; then
		[ -n "$have" ] && { say "pocketidp $have is installed (set POCKETIDP_SOURCE to update it)"; return; }
		die "pocketidp is not installed: set POCKETIDP_SOURCE to its download URL or path"
	fi
	# Download next to the target so the final rename is atomic: a shell
	# starting meanwhile sees the old binary or the new one, never half.
	tmp="$(mktemp "$bin_dir/.pocketidp.XXXXXX")"
	tmp_files+=("$tmp")
	fetch "$source" "$tmp"
	if [ -n "${POCKETIDP_SHA256:-}" ]; then
		echo "$POCKETIDP_SHA256  $tmp" | sha256sum -c --status - || die "checksum of $source does not match POCKETIDP_SHA256"
	fi
	chmod 0755 "$tmp"
	new="$(version_of "$tmp")"
	[ -n "$new" ] || die "$source is not a pocketidp binary (\`version\` did not answer)"
	if [ -n "$want" ] && [ "$new" != "$want" ]; then
		die "$source holds pocketidp $new, not POCKETIDP_VERSION $want"
	fi
	if [ "$new" = "$have" ] && cmp -s "$tmp" "$bin"; then
		say "pocketidp $have is up to date"
		return
	fi
	mv -f "$tmp" "$bin"
	if [ -z "$have" ]; then
		say "installed pocketidp $new in $bin_dir"
	elif [ "$new" = "$have" ]; then
		# Development builds all say "dev": the bytes tell them apart.
		say "replaced pocketidp $have with another build of the same version"
	else
		say "updated pocketidp $have -> $new"
	fi
}

write_shell_env() {
	# Rewritten on every start, so a changed org converges; sourced from the
	# shell rc files by a line added once.
	local env_file="$state_dir/env.sh" tmp line
	tmp="$(mktemp "$state_dir/.env.XXXXXX")"
	tmp_files+=("$tmp")
	{
		echo "# Written by pocketidp's Coder startup script on every workspace start."
		printf 'case ":$PATH:" in *":%s:"*) ;; *) export PATH="%s:$PATH" ;; esac\n' "$bin_dir" "$bin_dir"
		if [ -n "${HUMANITEC_ORG:-}" ]; then
			printf 'export HUMANITEC_ORG=%q\n' "$HUMANITEC_ORG"
		fi
	} >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$env_file"
	line="[ -f \"$env_file\" ] && . \"$env_file\" # pocketidp"
	for rc in "$HOME/.bashrc" "$HOME/.zshrc"; do
		if [ "$rc" = "$HOME/.zshrc" ] && [ ! -e "$rc" ]; then
			continue # no zsh here
		fi
		touch "$rc"
		grep -qF "# pocketidp" "$rc" || printf '\n%s\n' "$line" >>"$rc"
	done
}

main() {
	trap 'rm -f "${tmp_files[@]}"' EXIT
	# One start at a time: a restart while the previous run still installs
	# must not interleave with it (pocketidp itself also locks its state).
	exec 9>"$state_dir/.coder-startup.lock"
	if command -v flock >/dev/null 2>&1; then
		flock 9
	fi

	install_or_update
	write_shell_env

	export CODER="${CODER:-true}"
	local args=(up --yes) extra status=0
	if [ -n "${POCKETIDP_ARGS:-}" ]; then
		read -r -a extra <<<"$POCKETIDP_ARGS"
		args+=("${extra[@]}")
	fi
	say "running pocketidp ${args[*]} (log: $log)"
	"$bin" "${args[@]}" || status=$?
	if [ "$status" -ne 0 ]; then
		say "pocketidp up failed (exit $status); the workspace keeps running: run \`pocketidp up\` in a terminal to retry"
		return "$status"
	fi
	say "PocketIDP is ready"
}

mkdir -p "$bin_dir" "$state_dir" "$log_dir"
# Everything also lands in the log, for after the fact. With pipefail the
# script's exit code is main's (pocketidp's), so Coder shows a failed start
# as failed.
main 2>&1 | tee -a "$log"
