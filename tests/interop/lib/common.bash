# SPDX-License-Identifier: BSD-2-Clause
# tests/interop/lib/common.bash - plumbing shared by tests/interop/*.sh.
# Sourced, never run: it is not a *.sh in tests/interop/, so CTest does not
# register it as a test (tests/CMakeLists.txt globs interop/*.sh only).
#
#   . "$(dirname "$0")/lib/common.bash"
#
# Environment (set by tests/CMakeLists.txt): TERN_BIN (the build's apps),
# TERN_EXAMPLES, TERN_SRC; TERN_REQUIRE_INTEROP=1 turns a missing
# third-party peer from a skip (exit 77) into a failure.
#
# What sourcing does: sets $T (tern), $S (tern-server), $interop_dir, makes
# the temp dir $tmp and installs an EXIT trap that ends every background
# process started with bg_run, shows the registered logs if anything failed,
# prints "N passed, M failed", removes $tmp and exits non-zero if any check
# failed (even when the script itself ended with status 0).
#
# Reporting: ok, bad (non-fatal), die (fatal), check, expect_rc, expect_eq,
# expect_like. Peers: skip, peer_missing, need_built, need_libcoap_client,
# need_libcoap_server, need_node_coap, cc. Processes: bg_run, wait_bg,
# stop_bg, kill_group, wait_until. Servers on a port the kernel picks (port
# 0, the port read back from the server's log): start_tern_server,
# start_coap_server, start_node_server; unused_udp_port for a closed port.

: "${TERN_BIN:?TERN_BIN must point at the apps directory of the build}"
# shellcheck disable=SC2034 # T and S are for the scripts
T="$TERN_BIN/tern"
# shellcheck disable=SC2034
S="$TERN_BIN/tern-server"
interop_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

passed=0
failed=0
pids=()     # background processes (timeout(1) pids) the trap ends
logs=()     # "LABEL|FILE": shown (tail) when something failed

# ---- reporting ---------------------------------------------------------------

ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
note() { echo "# $*"; }
# die MESSAGE: a failure the rest of the script cannot go on from.
die() { bad "$*"; exit 1; }
# indent FILE...: context under a FAIL line (20 lines at most).
indent() { sed 's/^/    /' "$@" | head -20; }

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds; returns 1 otherwise
# so that `check ... || indent file` can add context.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; return 1; fi
}

# expect_rc WANT DESCRIPTION -- COMMAND...: COMMAND's exit status must be
# WANT; its stdout and stderr are left in $tmp/out and $tmp/err.
expect_rc() {
  local want=$1 what=$2 rc
  [ "$3" = -- ] || die "expect_rc $what: usage: expect_rc WANT DESCRIPTION -- COMMAND..."
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
    bad "$what: exit $rc, want $want"
    indent "$tmp/out" "$tmp/err"
    return 1
  fi
}

# expect_eq DESCRIPTION WANT GOT: GOT must be exactly WANT.
expect_eq() {
  if [ "$3" = "$2" ]; then ok "$1"; else bad "$1: got '$3', want '$2'"; return 1; fi
}

# expect_like DESCRIPTION PATTERN GOT: GOT must match the shell PATTERN.
expect_like() {
  # shellcheck disable=SC2254 # PATTERN is a pattern on purpose
  case "$3" in
    $2) ok "$1" ;;
    *) bad "$1: got '$3', want $2"; return 1 ;;
  esac
}

# show_log_on_failure LABEL FILE: tail FILE at the end if anything failed.
show_log_on_failure() {
  local l
  for l in "${logs[@]+"${logs[@]}"}"; do [ "$l" = "$1|$2" ] && return 0; done
  logs+=("$1|$2")
}

# ---- peers -----------------------------------------------------------------

# skip MESSAGE: a third-party peer is missing: exit 77, or fail under
# TERN_REQUIRE_INTEROP=1.
skip() {
  if [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ]; then die "$* (TERN_REQUIRE_INTEROP=1)"; fi
  echo "SKIP: $*"
  exit 77
}

# peer_missing MESSAGE: the same for an optional part of a script: a
# failure under TERN_REQUIRE_INTEROP=1, otherwise a "skip" line.
peer_missing() {
  if [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ]; then bad "$* (TERN_REQUIRE_INTEROP=1)"; else
    echo "skip - $*"
  fi
}

# need_built PROGRAM...: programs of this build must be there.
need_built() {
  local p
  for p in "$@"; do [ -x "$p" ] || die "$p not built"; done
}

# find_libcoap client|server: print the first of libcoap's programs found.
find_libcoap() {
  local p
  for p in "coap-$1-notls" "coap-$1-openssl" "coap-$1-gnutls" "coap-$1"; do
    if command -v "$p" >/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
need_libcoap_client() {
  coap_client=$(find_libcoap client) ||
    skip "libcoap's coap-client is not installed (Debian: libcoap3-bin)"
}
need_libcoap_server() {
  coap_server=$(find_libcoap server) ||
    skip "libcoap's coap-server is not installed (Debian: libcoap3-bin)"
}
need_node_coap() {
  command -v node >/dev/null || skip "node is not installed"
  [ -d "$interop_dir/node/node_modules/coap" ] ||
    skip "node-coap is not installed (scripts/install-deps --test)"
}

# cc ARGS...: libcoap's coap-client (need_libcoap_client first), at most 10 s,
# stderr merged into stdout.
cc() { timeout -k 3 10 "$coap_client" "$@" 2>&1; }

# ---- processes ----------------------------------------------------------------

# bg_run [-s SIGNAL] SECONDS COMMAND...: run COMMAND in the background under
# `timeout -k 3 [-s SIGNAL] SECONDS`; redirect at the call. Sets $bg_pid
# (timeout's pid: a TERM or INT sent to it reaches COMMAND); the trap ends it.
bg_run() {
  local sig=TERM
  if [ "$1" = -s ]; then sig=$2; shift 2; fi
  local secs=$1
  shift
  timeout -k 3 -s "$sig" "$secs" "$@" &
  bg_pid=$!
  pids+=("$bg_pid")
}

_forget() {
  local p keep=()
  for p in "${pids[@]+"${pids[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

# wait_bg PID: wait for a bg_run process (bounded by its timeout); returns
# its exit status.
wait_bg() {
  local rc
  wait "$1"
  rc=$?
  _forget "$1"
  return "$rc"
}

# stop_bg PID [SIGNAL]: signal a bg_run process's command (default TERM)
# and wait. The signal goes to the command itself, not through timeout(1):
# timeout follows a signal it passes on with SIGCONT, and a SIGCONT that
# lands while LeakSanitizer stops the process at exit (sanitizer builds)
# undoes the ptrace stop it waits for, and the process never ends until
# timeout's KILL (seen here as "tern observe" or tern-server, killed 3 s
# after a clean stop). Timeout itself only if the command has gone.
stop_bg() {
  local cmd
  cmd=$(pgrep -P "$1" | head -1)
  kill -"${2:-TERM}" "${cmd:-$1}" 2>/dev/null
  wait_bg "$1"
}

# kill_group SIGNAL PID: signal a bg_run process's command itself, not just
# timeout(1) (which cannot pass on a KILL): timeout runs in a process group
# of its own, so signal that whole group, then wait.
kill_group() {
  kill -"$1" -- "-$2" || die "kill_group: no process group $2"
  wait_bg "$2" 2>/dev/null  # no "Killed" from bash: timeout dies with the group
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.05 s until it succeeds
# (status 0) or SECONDS (an integer) have passed (status 1).
wait_until() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 20; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}

# ---- servers --------------------------------------------------------------------

# wait_port PID LOG ERE WHAT: wait (10 s at most) for the line in LOG from
# which ERE's first group (sed -E) takes the port; sets $port. Dies when the
# process exits first or the line does not come.
wait_port() {
  local pid=$1 log=$2 ere=$3 what=$4 i
  port=""
  for ((i = 0; i < 200; i++)); do
    port=$(sed -nE "s#$ere#\\1#p" "$log" | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited at start"
    sleep 0.05
  done
  die "$what did not log its port within 10 s"
}

# start_tern_server LOG [tern-server OPTION...]: tern-server on 127.0.0.1, a
# port the kernel picks (--port 0; the port is in the "listening on" line,
# so no -q), for 110 s at most. One worker unless the options say --workers:
# the limits a test counts on are then the whole server's, on any machine.
# Sets $port and $server_pid.
start_tern_server() {
  local log=$1 a workers=(--workers 1)
  shift
  for a in "$@"; do [ "$a" = --workers ] && workers=(); done
  show_log_on_failure tern-server "$log"
  bg_run 110 "$S" --port 0 --bind 127.0.0.1 "${workers[@]+"${workers[@]}"}" "$@" >"$log" 2>&1
  server_pid=$bg_pid
  wait_port "$server_pid" "$log" '.*listening on coap://127\.0\.0\.1:([0-9]+),.*' tern-server
}

# start_coap_server LOG [coap-server OPTION...]: libcoap's coap-server
# (need_libcoap_server first) on 127.0.0.1, port 0; at -v 7 it logs "created
# UDP  endpoint 127.0.0.1:PORT". Sets $port and $server_pid.
start_coap_server() {
  local log=$1
  shift
  show_log_on_failure coap-server "$log"
  bg_run 110 "$coap_server" -A 127.0.0.1 -p 0 -v 7 "$@" >"$log" 2>&1
  server_pid=$bg_pid
  wait_port "$server_pid" "$log" '.*created UDP +endpoint 127\.0\.0\.1:([0-9]+).*' coap-server
}

# start_node_server LOG SCRIPT: a node-coap server in tests/interop/node
# (need_node_coap first), given port 0; it prints "ready PORT". Sets $port
# and $server_pid.
start_node_server() {
  local log=$1
  show_log_on_failure "node $2" "$log"
  bg_run 100 node "$interop_dir/node/$2" 0 >"$log" 2>&1
  server_pid=$bg_pid
  wait_port "$server_pid" "$log" '^ready ([0-9]+)$' "node $2"
}

# unused_udp_port: sets $unused_port to a port where no UDP socket is (IPv4
# or IPv6), for requests that must find nothing listening.
_udp_port_in_use() {
  if command -v ss >/dev/null; then
    [ -n "$(ss -Hua "sport = :$1")" ]
  else
    grep -qi ":$(printf '%04X' "$1") " /proc/net/udp /proc/net/udp6 2>/dev/null
  fi
}
unused_udp_port() {
  local i p
  for ((i = 0; i < 50; i++)); do
    p=$((40000 + RANDOM % 20000))
    # shellcheck disable=SC2034 # for the scripts
    if ! _udp_port_in_use "$p"; then unused_port=$p; return 0; fi
  done
  die "no unused UDP port found"
}

# make_test_certs CLIENT_CN: coaps certificates in $tmp, EC P-256 (RFC 7252
# 9.1.3.3): ca.crt/ca.key, server.crt/.key (CN localhost) and client.crt/.key
# (CN CLIENT_CN) signed by it, other.crt a CA that signed neither; keys
# mode 600. Dies when openssl cannot.
_mkcert() { # NAME CN
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmp/$1.key" -subj "/CN=$2" -out "$tmp/$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
      -CAcreateserial -days 2 -out "$tmp/$1.crt" 2>/dev/null
}
_mkca() { # NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$tmp/$1.key" -subj "/CN=$2" -out "$tmp/$1.crt" 2>/dev/null
}
make_test_certs() {
  command -v openssl >/dev/null || skip "openssl (the command) is not installed"
  _mkca ca "tern test CA" && _mkca other "another CA" && _mkcert server localhost &&
    _mkcert client "$1" || die "openssl could not make the test certificates"
  chmod 600 "$tmp"/*.key
}

# ---- the end ------------------------------------------------------------------

_interop_exit() {
  local rc=$? p l
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
  # Bounded: each is a timeout(1), which KILLs its command 3 s after the TERM.
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null; done
  if [ "$rc" != 77 ]; then
    if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" = 0 ]; then
      bad "no checks ran"
    fi
    if [ "$failed" -gt 0 ] || [ "$rc" != 0 ]; then
      for l in "${logs[@]+"${logs[@]}"}"; do
        [ -s "${l#*|}" ] || continue
        echo "--- ${l%%|*} log (last 40 lines)"
        tail -40 "${l#*|}" | sed 's/^/    /'
      done
    fi
    echo "$passed passed, $failed failed"
    if [ "$rc" = 0 ] && [ "$failed" -gt 0 ]; then rc=1; fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-interop.XXXXXX") || { echo "FAIL - mktemp"; exit 1; }
trap _interop_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
