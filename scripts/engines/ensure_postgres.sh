#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) are installed.
#
# Idempotent and quiet on success. If `initdb` cannot be found in
# /usr/lib/postgresql/*/bin or on PATH, installs Debian's `postgresql` package via apt
# (apt-get update only runs when an install is actually needed). When run as root it
# also makes sure the `postgres` OS user exists, because initdb/postgres refuse to run
# as root and scripts/engines/postgres_server.py drops to that user.
#
# Options:
#   --print-bindir   print the directory holding initdb as the last stdout line
#
# Exit codes: 0 ok, 1 install failed / not possible.
set -euo pipefail

print_bindir=0
for arg in "$@"; do
  case "$arg" in
    --print-bindir) print_bindir=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "ensure_postgres.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "ensure_postgres.sh: $*" >&2; }

find_bindir() {
  local d best="" best_ver=-1 ver
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
    ver="$(basename "$(dirname "$d")")"
    [[ "$ver" =~ ^[0-9]+$ ]] || ver=0
    if [ "$ver" -gt "$best_ver" ]; then best="$d"; best_ver="$ver"; fi
  done
  if [ -z "$best" ] && command -v initdb >/dev/null 2>&1; then
    best="$(dirname "$(readlink -f "$(command -v initdb)")")"
  fi
  [ -n "$best" ] && printf '%s\n' "$best"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    log "need root (or passwordless sudo) to run: $*"
    return 1
  fi
}

install_postgres() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "initdb not found and apt-get is unavailable; install PostgreSQL server binaries manually"
    return 1
  fi
  log "initdb not found; installing postgresql via apt-get"
  # Do not let the package create (and start) the default 'main' cluster on port 5432:
  # our tests start their own throwaway servers. createcluster.conf includes this dir.
  as_root mkdir -p /etc/postgresql-common/createcluster.d
  if [ ! -e /etc/postgresql-common/createcluster.d/00-no-main-cluster.conf ]; then
    echo "create_main_cluster = false" \
      | as_root tee /etc/postgresql-common/createcluster.d/00-no-main-cluster.conf >/dev/null
  fi
  local out
  out="$(mktemp)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; log "apt-get update failed"; return 1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold postgresql >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; log "apt-get install postgresql failed"; return 1
  fi
  rm -f "$out"
}

bindir="$(find_bindir || true)"
if [ -z "$bindir" ]; then
  install_postgres
  bindir="$(find_bindir || true)"
  if [ -z "$bindir" ]; then
    log "postgresql was installed but initdb is still not found"
    exit 1
  fi
fi

if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
  log "creating system user 'postgres' (initdb/postgres refuse to run as root)"
  useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/sh postgres
fi

if [ "$print_bindir" -eq 1 ]; then
  printf '%s\n' "$bindir"
fi
