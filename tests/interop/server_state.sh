#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_state.sh - tern-server's state directory against what operators
# and disks do to it:
#   - a state directory that is missing (and cannot be created), not a
#     directory, not writable (a read-only tmpfs) or full (a tiny tmpfs,
#     filled): no start, exit 1, a message naming the directory and why;
#   - a state file that is a FIFO or a directory: refused at once (bounded:
#     a FIFO opened for reading would block), naming the file;
#   - a state file holding "ON\n" (written by hand): refused, the message
#     names the file and shows the value escaped, "ON\n";
#   - a PUT of the state already held: 2.04, the file untouched (same inode
#     and mtime), and no notification to an observer;
#   - a PUT refused with 4.00: the diagnostic quotes the value received,
#     escaped, and the accepted ones;
#   - the disk fills up after the start: a PUT answers 5.03 with a
#     diagnostic, the state stays the old one (GET, the file), and once
#     there is room again the PUT goes through.
# The tmpfs parts need root (mount); without it they are skipped, visibly.
# Needs libcoap's coap-client (exit 77 without it, unless
# TERN_REQUIRE_INTEROP=1).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_libcoap_client
need_built "$S"

mounts=()
# End the servers first (a busy mount cannot be unmounted), then unmount,
# then the common end (which removes $tmp).
state_cleanup() {
  local p m
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null; done
  for m in "${mounts[@]+"${mounts[@]}"}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
}
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; state_cleanup; (exit $_rc); _interop_exit' EXIT

# tmpfs DIR OPTIONS: mount a tmpfs (root only); 1 when that is not possible.
can_mount=0
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$tmp/probe-mnt"
  if mount -t tmpfs -o size=64k tmpfs "$tmp/probe-mnt" 2>/dev/null; then
    umount "$tmp/probe-mnt" && can_mount=1
  fi
fi
tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "$2" tmpfs "$1" || return 1
  mounts+=("$1")
}
skip_part() { echo "skip - $*"; }

# refused WHAT PATTERN -- tern-server ARGS...: the start must fail with exit
# status 1, within 5 s (a hang would be the timeout's 124), and stderr must
# match the grep ERE PATTERN.
refused() {
  local what=$1 pat=$2 rc t0 t1
  shift 3
  t0=$(date +%s%N)
  timeout -k 3 20 "$S" --port 0 --bind 127.0.0.1 "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  t1=$(date +%s%N)
  local ms=$(((t1 - t0) / 1000000))
  check "$what: refused, exit 1 (exit $rc, ${ms} ms)" test "$rc" = 1 -a "$ms" -lt 5000 ||
    indent "$tmp/err"
  check "$what: says why: $(tail -1 "$tmp/err")" grep -Eq -- "$pat" "$tmp/err" || indent "$tmp/err"
}

# ---- the directory -------------------------------------------------------
refused "missing state directory" 'state directory ".*/nowhere/state" does not exist and cannot be created' \
  -- --state-dir "$tmp/nowhere/state"
: >"$tmp/plain-file"
refused "state directory is a file" 'state directory ".*/plain-file" is not a directory' \
  -- --state-dir "$tmp/plain-file"

if [ "$can_mount" = 1 ]; then
  tmpfs "$tmp/ro" ro,size=1M
  refused "read-only state directory" 'state directory ".*/ro" is on a read-only file system' \
    -- --state-dir "$tmp/ro"
  tmpfs "$tmp/full" size=64k
  mkdir "$tmp/full/state"
  dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null
  refused "full state directory" 'state directory ".*/full/state" is full' \
    -- --state-dir "$tmp/full/state"
  rm -f "$tmp/full/filler"
else
  skip_part "read-only and full state directories (a tmpfs mount needs root)"
fi
if [ "$(id -u)" != 0 ]; then
  mkdir -p "$tmp/locked"
  chmod 555 "$tmp/locked"
  refused "unwritable state directory" 'state directory ".*/locked" is not writable' \
    -- --state-dir "$tmp/locked"
  chmod 755 "$tmp/locked"
fi

# ---- state files ------------------------------------------------------------
mkdir -p "$tmp/fifo"
mkfifo "$tmp/fifo/alarm.state"
refused "FIFO state file" 'state file ".*/fifo/alarm.state" is a FIFO, not a regular file' \
  -- --state-dir "$tmp/fifo"
mkdir -p "$tmp/dir/alarm.state"
refused "directory state file" 'state file ".*/dir/alarm.state" is a directory' \
  -- --state-dir "$tmp/dir"
mkdir -p "$tmp/hand"
printf 'ON\n' >"$tmp/hand/alarm.state"
refused 'state file holding "ON\n"' 'state file ".*/hand/alarm.state" holds "ON\\n", which is not one of its values \(ON, OFF\)' \
  -- --state-dir "$tmp/hand"
check "...and the file is left as it was" test "$(od -An -c "$tmp/hand/alarm.state" | tr -d ' ')" = 'ON\n'
printf '\033[31mON' >"$tmp/hand/alarm.state"
refused 'state file holding an escape sequence' 'holds "\\x1b\[31mON"' -- --state-dir "$tmp/hand"
printf 'ON\000OFF' >"$tmp/hand/alarm.state"
refused 'state file holding a NUL byte' 'alarm.state" holds a NUL byte' -- --state-dir "$tmp/hand"
mkdir -p "$tmp/door"
printf 'AJAR' >"$tmp/door/door.state"
refused 'a --resource state file with another value' 'door.state" holds "AJAR".*\(OPEN, CLOSED\)' \
  -- --state-dir "$tmp/door" --resource /door=OPEN,CLOSED

# ---- PUT --------------------------------------------------------------------
start_tern_server "$tmp/server.log" --state-dir "$tmp/state"
uri="coap://127.0.0.1:$port"
expect_eq "PUT ON -> 2.04 ON" ON "$(cc -m put -e ON "$uri/alarm")"
before=$(stat -c '%i %y' "$tmp/state/alarm.state")
note "alarm.state after the first PUT: inode and mtime $before"
bg_run 20 "$coap_client" -s 6 "$uri/alarm" >"$tmp/obs.out" 2>&1
obs_pid=$bg_pid
wait_until 5 grep -q ON "$tmp/obs.out" || bad "the observer did not get the state"
expect_eq "PUT ON again -> 2.04 ON" ON "$(cc -m put -e ON "$uri/alarm")"
after=$(stat -c '%i %y' "$tmp/state/alarm.state")
expect_eq "...the state file untouched (same inode and mtime)" "$before" "$after"
check "...logged as unchanged: $(grep -m1 unchanged "$tmp/server.log")" \
  grep -q 'alarm: ON unchanged (PUT from 127.0.0.1:[0-9]*; nothing written)' "$tmp/server.log"
expect_eq "PUT OFF -> 2.04 OFF" OFF "$(cc -m put -e OFF "$uri/alarm")"
wait_until 5 grep -q ONOFF "$tmp/obs.out"
stop_bg "$obs_pid"
expect_eq "the observer heard ON, then OFF: nothing for the PUT that changed nothing" \
  ONOFF "$(tr -d '\n' <"$tmp/obs.out")"

out=$(cc -m put -e MAYBE "$uri/alarm")
expect_like "4.00 names the value and the accepted ones: $out" \
  '*4.00*got "MAYBE"; accepted: ON, OFF*' "$out"
out=$(cc -m put -e $'a"b\\c\nd\001' "$uri/alarm")
check "4.00 quotes the value escaped: $out" \
  grep -qF '4.00 got "a\"b\\c\nd\x01"; accepted: ON, OFF' <<<"$out"
expect_eq "the state is still OFF" OFF "$(cc -m get "$uri/alarm")"
stop_bg "$server_pid"

# ---- the disk fills up while serving ----------------------------------------
if [ "$can_mount" = 1 ]; then
  tmpfs "$tmp/small" size=64k
  start_tern_server "$tmp/server2.log" --state-dir "$tmp/small/state"
  uri="coap://127.0.0.1:$port"
  expect_eq "on the small tmpfs: PUT ON -> 2.04 ON" ON "$(cc -m put -e ON "$uri/alarm")"
  dd if=/dev/zero of="$tmp/small/filler" bs=4k 2>/dev/null
  note "the tmpfs is full: $(df -h --output=avail "$tmp/small" | tail -1 | tr -d ' ') left"
  out=$(cc -m put -e OFF "$uri/alarm")
  expect_like "disk full: PUT OFF -> 5.03 with a diagnostic: $out" \
    '*5.03*cannot store the new state: No space left on device*' "$out"
  expect_eq "...GET still ON" ON "$(cc -m get "$uri/alarm")"
  expect_eq "...the state file still ON" ON "$(cat "$tmp/small/state/alarm.state")"
  check "...logged: $(grep -m1 'cannot store' "$tmp/server2.log" | cut -c1-160)" \
    grep -q 'error: /alarm: cannot store OFF .*No space left on device; the state stays ON' "$tmp/server2.log"
  expect_eq "...no temp file left" alarm.state \
    "$(cd "$tmp/small/state" && shopt -s nullglob dotglob && echo *)"
  rm -f "$tmp/small/filler"
  expect_eq "room again: PUT OFF -> 2.04 OFF" OFF "$(cc -m put -e OFF "$uri/alarm")"
  expect_eq "...and on disk" OFF "$(cat "$tmp/small/state/alarm.state")"
  stop_bg "$server_pid"
else
  skip_part "the disk filling up while serving (a tmpfs mount needs root)"
fi
