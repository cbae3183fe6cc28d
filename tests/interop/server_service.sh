#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_service.sh - tern-server as a systemd service, without systemd
# running:
#   - systemd/tern-server.service passes `systemd-analyze verify` (with
#     ExecStart= pointed at this build's program and MANPATH at its man
#     page; nothing else changed) - skipped visibly without systemd-analyze;
#   - log lines: "<N>" priority prefixes when $JOURNAL_STREAM names stderr,
#     an ISO 8601 UTC timestamp otherwise (unset, or naming another file);
#   - the sd_notify protocol: a listener on $NOTIFY_SOCKET (socat; a path
#     and an abstract name) gets READY=1, RELOADING=1 and READY=1 around a
#     SIGHUP, STOPPING=1 at the end;
#   - SIGHUP re-reads the config file: /door removed (4.04, its observer
#     told), /window added, /alarm keeps its state and its observer, which
#     is notified of the next PUT; the log level follows the file; a setting
#     bound at start (max-observers) is reported as needing a restart; a
#     resource whose values changed is updated in place (observers kept);
#     a broken file changes nothing;
#   - settings from the config file take effect (port, bind, state-dir,
#     log-level, join, the limits), and the command line wins over them.
# Needs libcoap's coap-client and socat (exit 77 without coap-client;
# socat's parts fail under TERN_REQUIRE_INTEROP=1, else are skipped).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_libcoap_client
need_built "$S"
src=${TERN_SRC:-$interop_dir/../..}
unit="$src/systemd/tern-server.service"

# The pid of tern-server under a bg_run timeout(1): SIGHUP must reach it,
# not timeout (which would turn it into a SIGTERM).
child_of() {
  local p pp
  for p in /proc/[0-9]*; do
    pp=$(sed -E 's/^.*\) [A-Za-z] ([0-9]+) .*$/\1/' "$p/stat" 2>/dev/null) || continue
    if [ "$pp" = "$1" ]; then echo "${p#/proc/}"; return 0; fi
  done
  return 1
}

# ---- the unit ---------------------------------------------------------------
check "the unit file is there" test -f "$unit" || die "no $unit"
if command -v systemd-analyze >/dev/null; then
  sed "s#^ExecStart=/usr/bin/tern-server #ExecStart=$S #" "$unit" >"$tmp/tern-server.service"
  expect_eq "...the copy verified differs in ExecStart= only" 1 \
    "$(diff "$unit" "$tmp/tern-server.service" | grep -c '^>')"
  mkdir -p "$tmp/man/man1"
  ln -s "$TERN_BIN/tern-server.1" "$tmp/man/man1/tern-server.1"
  man_opt=()
  if ! command -v man >/dev/null; then
    note "man is not installed: verify --man=no"
    man_opt=(--man=no)
  fi
  MANPATH="$tmp/man" systemd-analyze verify "${man_opt[@]}" "$tmp/tern-server.service" >"$tmp/verify.out" 2>&1
  rc=$?
  check "systemd-analyze verify: exit $rc, no output" test "$rc" = 0 -a ! -s "$tmp/verify.out" ||
    indent "$tmp/verify.out"
  if systemd-analyze security --offline=true "$tmp/tern-server.service" >"$tmp/security.out" 2>&1; then
    note "systemd-analyze security: $(grep -o 'Overall exposure level.*' "$tmp/security.out")"
  fi
else
  peer_missing "systemd-analyze is not installed (Debian: systemd); the unit file is not verified"
fi
# shellcheck disable=SC2016 # $MAINPID is for systemd
for want in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'DynamicUser=yes' \
  'StateDirectory=tern-server' 'ProtectSystem=strict' 'CapabilityBoundingSet=' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' \
  'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'; do
  check "unit: $want" grep -qxF "$want" "$unit"
done

# ---- log lines ----------------------------------------------------------------
: >"$tmp/journal.log"
js=$(stat -c '%d:%i' "$tmp/journal.log")
JOURNAL_STREAM=$js start_tern_server "$tmp/journal.log" --state-dir "$tmp/state-j"
uri="coap://127.0.0.1:$port"
cc -m put -e ON "$uri/alarm" >/dev/null
wait_until 5 grep -q 'alarm: OFF -> ON' "$tmp/journal.log"
stop_bg "$server_pid"
note "JOURNAL_STREAM=$js (stderr's device:inode): $(grep -m1 listening "$tmp/journal.log")"
check "journal form: <6>info: listening on ..." grep -q '^<6>info: listening on coap://127.0.0.1:' "$tmp/journal.log"
check "journal form: <6>info: alarm: OFF -> ON ..." grep -q '^<6>info: alarm: OFF -> ON from ' "$tmp/journal.log"
check "journal form: every line has a priority prefix" test -z "$(grep -v '^<[3467]>' "$tmp/journal.log")" ||
  indent "$tmp/journal.log"
: >"$tmp/journal-err.log"
js=$(stat -c '%d:%i' "$tmp/journal-err.log")
JOURNAL_STREAM=$js timeout -k 3 10 "$S" --port 0 --state-dir "$tmp/journal.log" 2>>"$tmp/journal-err.log"
check "journal form: errors are <3>: $(head -1 "$tmp/journal-err.log")" \
  grep -q '^<3>error: state directory ".*" is not a directory' "$tmp/journal-err.log"

stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z tern-server: '
start_tern_server "$tmp/plain.log" --state-dir "$tmp/state-j"
stop_bg "$server_pid"
note "no JOURNAL_STREAM: $(grep -m1 listening "$tmp/plain.log")"
check "no JOURNAL_STREAM: timestamped lines" grep -Eq "${stamp}info: listening on" "$tmp/plain.log"
check "...every line" test -z "$(grep -Ev "$stamp" "$tmp/plain.log")" || indent "$tmp/plain.log"
JOURNAL_STREAM=1:1 start_tern_server "$tmp/other.log" --state-dir "$tmp/state-j"
stop_bg "$server_pid"
check "JOURNAL_STREAM naming another file: timestamped lines" \
  grep -Eq "${stamp}info: listening on" "$tmp/other.log"

# ---- sd_notify ------------------------------------------------------------------
have_socat=0
if command -v socat >/dev/null; then have_socat=1; else
  peer_missing "socat is not installed (Debian: socat); the sd_notify checks are skipped"
fi
# notify_listen ADDRESS OUT: a socat receiving datagrams on ADDRESS
# (UNIX-RECV:PATH or ABSTRACT-RECV:NAME), writing them to OUT.
notify_listen() {
  bg_run 60 socat -u "$1" "OPEN:$2,creat,append" 2>"$2.err"
  notify_pid=$bg_pid
}
# notify_seq FILE: the READY/RELOADING/STOPPING sequence, one line.
notify_seq() { grep -o 'READY=1\|RELOADING=1\|STOPPING=1' "$1" | tr '\n' ' ' | sed 's/ $//'; }
if [ "$have_socat" = 1 ]; then
  notify_listen "ABSTRACT-RECV:tern-interop-$$" "$tmp/abstract.out"
  sleep 0.2
  NOTIFY_SOCKET="@tern-interop-$$" start_tern_server "$tmp/notify-a.log" --state-dir "$tmp/state-n"
  wait_until 5 grep -q READY=1 "$tmp/abstract.out"
  check "abstract \$NOTIFY_SOCKET: READY=1 ($(tr '\n' ' ' <"$tmp/abstract.out"))" \
    grep -q READY=1 "$tmp/abstract.out"
  stop_bg "$server_pid"
  stop_bg "$notify_pid"
fi

# ---- SIGHUP -------------------------------------------------------------------------
unused_udp_port
cport=$unused_port
cat >"$tmp/server.conf" <<EOF
# tern-server settings for the test
port $cport
bind 127.0.0.1
state-dir $tmp/cstate
log-level info
join 224.0.1.187%lo
liveness 60
amplification-limit off
max-observers 100
max-observers-per-peer 8
max-observers-per-address = 50
resource /door=OPEN,CLOSED:CLOSED
EOF
if [ "$have_socat" = 1 ]; then
  notify_listen "UNIX-RECV:$tmp/notify.sock" "$tmp/notify.out"
  wait_until 5 test -S "$tmp/notify.sock" || bad "socat did not create $tmp/notify.sock"
fi
show_log_on_failure tern-server "$tmp/conf.log"
NOTIFY_SOCKET="$tmp/notify.sock" bg_run 100 "$S" --config "$tmp/server.conf" >"$tmp/conf.log" 2>&1
server_pid=$bg_pid
wait_port "$server_pid" "$tmp/conf.log" '.*listening on coap://127\.0\.0\.1:([0-9]+),.*' tern-server
expect_eq "config file: port" "$cport" "$port"
check "config file: bind and state-dir: $(grep -m1 listening "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q "listening on coap://127.0.0.1:$cport, state in \"$tmp/cstate\"" "$tmp/conf.log"
check "config file: join" grep -q 'info: joined 224.0.1.187%lo' "$tmp/conf.log"
check "config file: limits: $(grep -m1 'observers: ' "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q 'observers: at most 100, 8 per peer, 50 per address; liveness check after 60 s idle (Max-Age 120 s); amplification limit off' "$tmp/conf.log"
check "config file: log-level info (no trace)" test -z "$(grep -e '-> \|<- ' "$tmp/conf.log")"
uri="coap://127.0.0.1:$port"
expect_eq "PUT /alarm ON" ON "$(cc -m put -e ON "$uri/alarm")"
expect_eq "PUT /door OPEN" OPEN "$(cc -m put -e OPEN "$uri/door")"
check "config file: state-dir holds the states" test -f "$tmp/cstate/alarm.state" -a -f "$tmp/cstate/door.state"
bg_run 40 "$coap_client" -s 30 "$uri/alarm" >"$tmp/obs-alarm.out" 2>&1
obs_alarm=$bg_pid
bg_run 40 "$coap_client" -s 30 "$uri/door" >"$tmp/obs-door.out" 2>&1
obs_door=$bg_pid
wait_until 5 grep -q ON "$tmp/obs-alarm.out" || bad "no first notification on /alarm"
wait_until 5 grep -q OPEN "$tmp/obs-door.out" || bad "no first notification on /door"

# /door out, /window in, log level debug, max-observers changed; the file
# replaced in one step, as an editor would.
cat >"$tmp/server.conf.new" <<EOF
port $cport
bind 127.0.0.1
state-dir $tmp/cstate
log-level debug
join 224.0.1.187%lo
liveness 60
amplification-limit off
max-observers 200
max-observers-per-peer 8
max-observers-per-address = 50
/window=OPEN,SHUT:SHUT
EOF
mv "$tmp/server.conf.new" "$tmp/server.conf"
pid=$(child_of "$server_pid") || die "no tern-server under $server_pid"
kill -HUP "$pid"
wait_until 5 grep -q 'reload done' "$tmp/conf.log"
check "SIGHUP: $(grep -m1 'reload done' "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q 'reload done: 2 resources (1 added, 1 removed, 0 updated)' "$tmp/conf.log"
expect_eq "after SIGHUP: GET /window -> SHUT" SHUT "$(cc -m get "$uri/window")"
out=$(cc -m get "$uri/door")
expect_like "after SIGHUP: GET /door -> 4.04 ($out)" '*4.04*' "$out"
expect_eq "after SIGHUP: /alarm kept its state" ON "$(cc -m get "$uri/alarm")"
expect_eq "after SIGHUP: discovery" '</alarm>;rt="alarm";ct=0;obs,</window>;rt="window";ct=0;obs' \
  "$(cc -m get "$uri/.well-known/core")"
wait_until 5 grep -q '4.04' "$tmp/obs-door.out"
check "the observer of /door was told 4.04: $(tr '\n' ' ' <"$tmp/obs-door.out")" grep -q '4.04' "$tmp/obs-door.out"
expect_eq "PUT /alarm OFF" OFF "$(cc -m put -e OFF "$uri/alarm")"
wait_until 5 grep -q 'ONOFF' <(tr -d '\n' <"$tmp/obs-alarm.out")
expect_eq "the observer of /alarm, registered before the reload, heard the PUT" \
  ONOFF "$(tr -d '\n' <"$tmp/obs-alarm.out")"
check "log level debug from the reloaded file: the trace is on" \
  grep -q -- '<- 127.0.0.1:[0-9]* CON PUT .*Uri-Path:"alarm"' "$tmp/conf.log"
check "a setting bound at start is reported: $(grep -m1 'takes effect' "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q 'warning: reload: max-observers changed; it takes effect at the next restart' "$tmp/conf.log"

# /window's values changed: updated in place; its state SHUT is gone, so it
# is the new initial value now (written, and notified).
bg_run 40 "$coap_client" -s 30 "$uri/window" >"$tmp/obs-window.out" 2>&1
obs_window=$bg_pid
wait_until 5 grep -q SHUT "$tmp/obs-window.out" || bad "no first notification on /window"
sed -i -e 's#^/window=.*#/window=OPEN,TILTED:TILTED#' -e "s#^port .*#port $((cport + 1))#" "$tmp/server.conf"
kill -HUP "$pid"
wait_until 5 grep -q 'reload done: 2 resources (0 added, 0 removed, 1 updated)' "$tmp/conf.log"
check "SIGHUP, /window's values changed: $(grep -m1 'accepted values now' "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q 'warning: /window: accepted values now OPEN, TILTED; its state SHUT is not among them, so it is now TILTED' "$tmp/conf.log"
check "...a port change is reported as needing a restart" \
  grep -q 'warning: reload: port changed; it takes effect at the next restart' "$tmp/conf.log"
expect_eq "...GET /window -> TILTED (on the old port)" TILTED "$(cc -m get "$uri/window")"
expect_eq "...on disk" TILTED "$(cat "$tmp/cstate/window.state")"
wait_until 5 grep -q 'SHUTTILTED' <(tr -d '\n' <"$tmp/obs-window.out")
expect_eq "...its observer kept and told" SHUTTILTED "$(tr -d '\n' <"$tmp/obs-window.out")"
stop_bg "$obs_window"

# A broken file: reported with its line, nothing changed.
printf 'log-level info\n/window=OPEN,SHUT\nport sixty\n' >"$tmp/server.conf"
kill -HUP "$pid"
wait_until 5 grep -q 'nothing changed' "$tmp/conf.log"
check "a broken file on SIGHUP: $(grep -m1 'nothing changed' "$tmp/conf.log" | cut -d' ' -f4-)" \
  grep -q "error: reload: .*server.conf:3: bad port \"sixty\" (0 to 65535); nothing changed" "$tmp/conf.log"
expect_eq "...still serving /window" TILTED "$(cc -m get "$uri/window")"
check "...the server is still up" kill -0 "$pid"
stop_bg "$obs_alarm"
stop_bg "$obs_door"
stop_bg "$server_pid"
check "it stopped cleanly" grep -q 'info: stopping' "$tmp/conf.log"
if [ "$have_socat" = 1 ]; then
  wait_until 5 grep -q STOPPING=1 "$tmp/notify.out"
  stop_bg "$notify_pid"
  expect_eq "\$NOTIFY_SOCKET heard: start, three reloads, stop" \
    "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1" \
    "$(notify_seq "$tmp/notify.out")"
  check "...RELOADING=1 with MONOTONIC_USEC" grep -q '^MONOTONIC_USEC=[0-9]' "$tmp/notify.out"
fi

# The command line wins over the file.
printf 'port %s\nbind 127.0.0.1\nstate-dir %s\nlog-level debug\nmax-observers 100\n' \
  "$cport" "$tmp/cstate" >"$tmp/server.conf"
show_log_on_failure "tern-server (overrides)" "$tmp/over.log"
bg_run 100 "$S" --config "$tmp/server.conf" --port 0 --log-level info --max-observers 30 \
  --state-dir "$tmp/cstate2" >"$tmp/over.log" 2>&1
server_pid=$bg_pid
wait_port "$server_pid" "$tmp/over.log" '.*listening on coap://127\.0\.0\.1:([0-9]+),.*' tern-server
check "command line over file: --port 0 (port $port, not $cport)" test "$port" != "$cport"
check "command line over file: --state-dir" grep -q "state in \"$tmp/cstate2\"" "$tmp/over.log"
check "command line over file: --max-observers 30" grep -q 'observers: at most 30,' "$tmp/over.log"
check "command line over file: --log-level info (no trace)" test -z "$(grep -e '-> \|<- ' "$tmp/over.log")"
stop_bg "$server_pid"

# SIGHUP without a config file: logged, nothing else.
start_tern_server "$tmp/nofile.log" --state-dir "$tmp/state-j"
pid=$(child_of "$server_pid") || die "no tern-server under $server_pid"
kill -HUP "$pid"
wait_until 5 grep -q 'SIGHUP: no --config file' "$tmp/nofile.log"
check "SIGHUP without --config: logged, the server goes on" \
  grep -q 'warning: SIGHUP: no --config file to re-read; nothing changed' "$tmp/nofile.log"
check "...and is still up" kill -0 "$pid"
stop_bg "$server_pid"
