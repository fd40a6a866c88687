#!/usr/bin/env bash
# Make sure a Java runtime usable by Spark 4.x (major 17..21) is available; needed by
# pyspark / dbt-spark session mode.
#
# Idempotent. Looks at $JAVA_HOME, `java` on PATH and /usr/lib/jvm/*; installs Debian's
# openjdk-17-jre-headless via apt only if none fits (apt-get update only then).
# Java >= 24 is rejected on purpose: Hadoop's UserGroupInformation calls
# Subject.getSubject(), which throws "UnsupportedOperationException: getSubject is not
# supported" there, so every Hive/metastore query of Spark 4.1 fails. (23 needs
# -Djava.security.manager=allow.) Override the range with ENSURE_JAVA_MIN/ENSURE_JAVA_MAX.
# Prints the chosen JAVA_HOME as the only stdout line, so callers can do:
#     export JAVA_HOME="$(scripts/engines/ensure_java.sh)"
# Diagnostics go to stderr. Exit codes: 0 ok, 1 no suitable Java could be provided.
#
# Preference when several JDKs are present: $JAVA_HOME, then `java` on PATH, then the
# /usr/lib/jvm entries with major 17, then 21, then anything else in range. A JAVA_HOME
# outside the range is ignored with a warning on stderr.
set -euo pipefail

MIN_MAJOR="${ENSURE_JAVA_MIN:-17}"
MAX_MAJOR="${ENSURE_JAVA_MAX:-21}"
log() { echo "ensure_java.sh: $*" >&2; }

# major version of a java binary, or empty
java_major() {
  local bin="$1" line ver major
  [ -x "$bin" ] || return 1
  line="$("$bin" -version 2>&1 | grep -m1 -Ei 'version' || true)"
  ver="$(printf '%s' "$line" | sed -nE 's/.*version "([^"]+)".*/\1/p')"
  [ -n "$ver" ] || return 1
  if [[ "$ver" == 1.* ]]; then
    major="$(printf '%s' "$ver" | cut -d. -f2)"
  else
    major="$(printf '%s' "$ver" | sed -nE 's/^([0-9]+).*/\1/p')"
  fi
  [[ "$major" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$major"
}

home_of() {  # JAVA_HOME for a java binary (resolves /usr/bin/java alternatives symlinks)
  dirname "$(dirname "$(readlink -f "$1")")"
}

ok() {
  local bin="$1" major
  major="$(java_major "$bin" 2>/dev/null)" || return 1
  [ "$major" -ge "$MIN_MAJOR" ] && [ "$major" -le "$MAX_MAJOR" ]
}

find_java_home() {
  if [ -n "${JAVA_HOME:-}" ]; then
    if ok "$JAVA_HOME/bin/java"; then
      home_of "$JAVA_HOME/bin/java"; return 0
    fi
    log "ignoring JAVA_HOME=$JAVA_HOME (need Java $MIN_MAJOR..$MAX_MAJOR for Spark)"
  fi
  if command -v java >/dev/null 2>&1 && ok "$(command -v java)"; then
    home_of "$(command -v java)"; return 0
  fi
  local want cand major
  for want in 17 21 any; do
    for cand in /usr/lib/jvm/*/bin/java; do
      [ -x "$cand" ] || continue
      major="$(java_major "$cand" 2>/dev/null)" || continue
      if [ "$want" = any ]; then
        [ "$major" -ge "$MIN_MAJOR" ] && [ "$major" -le "$MAX_MAJOR" ] || continue
      else
        [ "$major" -eq "$want" ] || continue
      fi
      home_of "$cand"; return 0
    done
  done
  return 1
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

install_java() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no Java $MIN_MAJOR..$MAX_MAJOR found and apt-get is unavailable; install one (e.g. 17)"
    return 1
  fi
  log "no Java $MIN_MAJOR..$MAX_MAJOR found; installing openjdk-17-jre-headless via apt-get"
  # Slim Debian images drop /usr/share/man; the openjdk postinst (update-alternatives
  # for man pages) then fails unless the directory exists.
  as_root mkdir -p /usr/share/man/man1
  local out
  out="$(mktemp)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; log "apt-get update failed"; return 1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold openjdk-17-jre-headless >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; log "apt-get install openjdk-17-jre-headless failed"; return 1
  fi
  rm -f "$out"
}

if ! home="$(find_java_home)"; then
  install_java
  if ! home="$(find_java_home)"; then
    log "openjdk-17-jre-headless was installed but no Java $MIN_MAJOR..$MAX_MAJOR was found"
    exit 1
  fi
fi
printf '%s\n' "$home"
