#!/usr/bin/env bash
# The Debian packages, installed into a scratch root: builds them with CPack from BUILD_DIR,
# checks their metadata (dependencies, conffile, modes, maintainer scripts), unpacks them over a
# scratch root holding only systemd's unit library, runs the installed binaries, and checks the
# installed unit with `systemd-analyze verify` and its exposure with `systemd-analyze security`.
# Exits non-zero naming the first check that fails.
#
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail

build_dir=${1:?usage: deb_test.sh BUILD_DIR}
work="$(mktemp -d "${TMPDIR:-/tmp}/optischema-deb.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cpack --config "$build_dir/CPackConfig.cmake" -B "$work/packages" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
agent_deb="$(ls "$work"/packages/optischema-agent_*_amd64.deb)"
cp_deb="$(ls "$work"/packages/optischema-controlplane_*_amd64.deb)"

# Metadata. Listings go to files first: grep -q closing a pipe early would fail the pipeline.
dpkg-deb -c "$agent_deb" >"$work/agent.list"
dpkg-deb -c "$cp_deb" >"$work/controlplane.list"
dpkg-deb --ctrl-tarfile "$agent_deb" | tar -x -C "$work" ./conffiles ./postinst ./prerm ./postrm
depends="$(dpkg-deb -f "$agent_deb" Depends)"
for needed in adduser procps libpq5 libcurl4 libpg-query libroaring0 libssl3 libsystemd0; do
  [[ "$depends" == *"$needed"* ]] || fail "optischema-agent does not depend on $needed: $depends"
done
grep -qx '/etc/optischema/agent.toml' "$work/conffiles" || fail "agent.toml is not a conffile"
grep -qE '^-rw-r----- root/root .* \./etc/optischema/agent\.toml$' "$work/agent.list" ||
  fail "agent.toml is not installed with mode 0640: $(grep agent.toml "$work/agent.list")"
for script in postinst prerm postrm; do
  [[ -x "$work/$script" ]] || fail "no executable $script"
  sh -n "$work/$script" || fail "$script is not valid sh"
done
grep -q 'systemd-sysusers' "$work/postinst" || fail "postinst does not create the service user"
grep -q 'chgrp optischema' "$work/postinst" || fail "postinst does not give the configuration to the group"
grep -q '\./usr/bin/optischema-controlplane$' "$work/controlplane.list" ||
  fail "the control plane package lacks its binary"
if grep -q 'optischema-controlplane' "$work/agent.list"; then
  fail "the agent package carries the control plane"
fi

# A scratch root: systemd's unit library and kill(1), as on any Debian system, then the packages.
root="$work/root"
mkdir -p "$root/usr/lib" "$root/usr/bin"
cp -r /usr/lib/systemd "$root/usr/lib/"
cp /usr/bin/kill "$root/usr/bin/"
ln -s usr/bin "$root/bin"
dpkg-deb -x "$agent_deb" "$root"
dpkg-deb -x "$cp_deb" "$root"

version="$("$root/usr/bin/optischema-agent" version)"
[[ "$version" == "optischema-agent "* ]] || fail "unexpected version output: $version"
"$root/usr/bin/optischema-controlplane" --help >/dev/null || fail "optischema-controlplane --help"
[[ -f "$root/usr/lib/sysusers.d/optischema-agent.conf" ]] || fail "no sysusers.d entry"
grep -q '^u optischema ' "$root/usr/lib/sysusers.d/optischema-agent.conf" ||
  fail "the sysusers.d entry does not create user optischema"

unit=/usr/lib/systemd/system/optischema-agent.service
verify="$(systemd-analyze verify --root="$root" "$unit" 2>&1)" ||
  fail "systemd-analyze verify: $verify"
[[ -z "$verify" ]] || fail "systemd-analyze verify printed: $verify"
exposure="$(systemd-analyze security --offline=true --root="$root" "$unit" 2>&1 |
  sed -n 's/.*Overall exposure level for optischema-agent.service: \([0-9.]*\).*/\1/p')"
[[ -n "$exposure" ]] || fail "no exposure level from systemd-analyze security"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure is above 2.0"

echo "ok: $(basename "$agent_deb") ($(stat -c %s "$agent_deb") bytes), $(basename "$cp_deb"), $version, unit verified, exposure $exposure"
