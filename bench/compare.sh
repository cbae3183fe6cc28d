#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/compare.sh - tern-server against libcoap's coap-server and against
# bench/ceiling, on this machine, in one command. BENCHMARKS.md says what
# each figure means; this file says how it is taken.
#
#   bench/compare.sh [--quick] [--out DIR]
#
# 1. Builds tern-server, tern-bench and ceiling at -O2 (CMake RelWithDebInfo:
#    -O2 -g -DNDEBUG) in build/compare.
# 2. GET load: every server answers GET /alarm with the 3 bytes "OFF"
#    (libcoap's coap-server with -d 1 gets /alarm from one PUT, see
#    start_server). Windows 1, 16, 256, CON and NON, REPS runs of DUR
#    seconds each, servers interleaved run by run; medians, and the server's
#    CPU time per answer.
# 3. Observe fan-out: 1k, 10k and 100k observers, CON registrations, 3 PUTs;
#    a fresh server process for every size; tern-server notifying with CON
#    (its default) and with NON (--notify non).
# 3b. Several cores: tern-server --workers 1 and --workers 2 against the
#    ceiling, every process free to use both cores, 4 client sockets (so
#    that SO_REUSEPORT spreads them over the workers), window 256.
# 4. Instructions per GET: the server under callgrind, 2,000 GETs, then in a
#    second process 22,000; (I(22k) - I(2k)) / 20,000.
# 5. Tables on stdout and in DIR/results.md, raw JSON in DIR/raw, server logs
#    in DIR/logs, DIR/rps.png when gnuplot is there.
#
# Servers run on core 0, tern-bench on core 1 (taskset), except in 3b. Everything is sent
# to 127.0.0.1 and every server binds 127.0.0.1 only. Each server is started
# here, known by its pid, and stopped by that pid (also on Ctrl-C).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/compare.sh [--quick] [--out DIR]

Compare tern-server with libcoap's coap-server and bench/ceiling on this
machine: GET rate and latency, Observe fan-out, instructions per GET.

  --quick    1 run of 2 s per GET configuration instead of 3 of 5 s
  --out DIR  where results go (default bench/results/YYYYmmdd-HHMMSS)
  -h         this help

Needs: cmake, ninja, a C compiler, node, taskset, 2 cores.
Optional: coap-server-notls (Debian libcoap3-bin), valgrind, gnuplot
(Debian gnuplot-nox); what is missing is skipped with a note.
See BENCHMARKS.md.
EOF
}

QUICK=0
OUT=
ARGS_ORIG="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CMDLINE="bench/compare.sh${ARGS_ORIG:+ $ARGS_ORIG}"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-bench/results/$STAMP}
mkdir -p "$OUT/raw" "$OUT/logs"
OUT=$(cd "$OUT" && pwd)

if [ "$QUICK" = 1 ]; then REPS=1 DUR=2; else REPS=3 DUR=5; fi
WINDOWS="1 16 256"
FANOUT_SIZES="1000 10000 100000"
FANOUT_ROUNDS=3
FANOUT_TIMEOUT=10000 # ms, per registration and per round
CON_TIMEOUT=5000     # ms: room for one retransmission (RFC 7252 4.2: 2-3 s)
NON_TIMEOUT=2000     # ms: NON is never retransmitted; only how long to wait
CG_SMALL=2000
CG_LARGE=22000

say() { printf '%s\n' "$*"; }
note() { printf 'compare.sh: %s\n' "$*" >&2; }
die() { note "$*"; exit 1; }

# --- prerequisites -----------------------------------------------------------
for tool in cmake ninja taskset node; do
    command -v "$tool" >/dev/null ||
        die "$tool is missing (Debian: apt-get install cmake ninja-build util-linux nodejs)"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (server on core 0, tern-bench on core 1); nproc says $(nproc)"

COAP_SERVER=
for c in coap-server-notls coap-server-openssl coap-server-gnutls; do
    if command -v "$c" >/dev/null; then COAP_SERVER=$(command -v "$c"); break; fi
done
[ -n "$COAP_SERVER" ] ||
    note "no libcoap coap-server (Debian: apt-get install libcoap3-bin): libcoap is skipped"
HAVE_VALGRIND=0
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    HAVE_VALGRIND=1
else
    note "no valgrind (Debian: apt-get install valgrind): instructions per GET are skipped"
fi
HAVE_GNUPLOT=0
if command -v gnuplot >/dev/null; then
    HAVE_GNUPLOT=1
else
    note "no gnuplot (Debian: apt-get install gnuplot-nox): the plot is skipped"
fi

# 100,000 observers are 10,000 sockets in tern-bench; it raises its own soft
# limit to the hard one, this is for anything else started from here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Other work on the machine skews every figure: measure how busy it is
# over one second before starting, and name what is running.
cpu_busy_pct() {
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    local busy=0 total=0 i d
    for i in 1 2 3 4 5 6 7 8; do
        d=$((b[i] - a[i])); total=$((total + d))
        [ "$i" = 4 ] || [ "$i" = 5 ] || busy=$((busy + d)) # idle, iowait
    done
    echo $((total > 0 ? 100 * busy / total : 0))
}
BUSY_PCT=$(cpu_busy_pct)
BUSY_PROCS=$(ps -eo pcpu=,ni=,comm= --sort=-pcpu 2>/dev/null |
    awk '$1 >= 20 { printf "%s%s (nice %s, %s%% CPU)", n++ ? ", " : "", $3, $2, $1 }' || true)
BACKGROUND="${BUSY_PCT}% of the CPUs busy in the second before the start"
[ -n "$BUSY_PROCS" ] && BACKGROUND="$BACKGROUND; busy processes: $BUSY_PROCS"
if [ "$BUSY_PCT" -ge 10 ]; then
    note "the machine is not idle ($BACKGROUND): figures will be lower and noisier"
fi

# --- build -------------------------------------------------------------------
BUILD=build/compare
say "== build: $BUILD, CMAKE_BUILD_TYPE=RelWithDebInfo (-O2 -g -DNDEBUG)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTERN_BUILD_TESTS=OFF >"$OUT/logs/cmake.log" 2>&1 ||
    { tail -20 "$OUT/logs/cmake.log" >&2; die "cmake failed (log: $OUT/logs/cmake.log)"; }
cmake --build "$BUILD" --target tern-server tern-bench ceiling >"$OUT/logs/build.log" 2>&1 ||
    { tail -30 "$OUT/logs/build.log" >&2; die "build failed (log: $OUT/logs/build.log)"; }
TERN_SERVER=$BUILD/apps/tern-server
TERN_BENCH=$BUILD/apps/tern-bench
CEILING=$BUILD/bench/ceiling
# One process per server, as libcoap and ceiling are: a tern-server that can
# fork workers (--workers, one per core by default) gets --workers 1.
TERN_WORKERS=
if "$TERN_SERVER" --help 2>&1 | grep -q -- '--workers'; then TERN_WORKERS="--workers 1"; fi
C_FLAGS=$(sed -n 's/^CMAKE_C_FLAGS_RELWITHDEBINFO:STRING=//p' "$BUILD/CMakeCache.txt")
C_COMPILER=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
C_COMPILER_VERSION=$("$C_COMPILER" --version 2>/dev/null | head -1)

# --- servers -------------------------------------------------------------------
SERVER_PIDS=()
STATE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tern-compare.XXXXXX")

cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.2
    for pid in "${SERVER_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$STATE_ROOT"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# A port (and the same TCP port: libcoap listens on both) nobody holds,
# IPv4 or IPv6 (a [::] socket would hold 127.0.0.1 too).
port_in_use() {
    local hex
    hex=$(printf ':%04X ' "$1")
    cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk '{print $2" "}' | grep -q -- "$hex"
}
pick_port() {
    local p
    for _ in $(seq 200); do
        p=$((40000 + RANDOM % 20000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# The server is ready when its UDP socket on 127.0.0.1:PORT exists.
wait_bound() {
    local port=$1 pid=$2 hex i
    hex=$(printf '0100007F:%04X' "$port")
    for i in $(seq 600); do
        grep -q " $hex " /proc/net/udp 2>/dev/null && return 0
        proc_alive "$pid" || return 1
        sleep 0.05
    done
    return 1
}

# Datagrams the kernel dropped on the server's own socket (127.0.0.1:PORT)
# for lack of receive buffer: the last column of /proc/net/udp.
sock_drops() {
    awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a { print $NF; f = 1; exit }
        END { if (!f) print 0 }' /proc/net/udp
}

# CPU time a process has used, user and system, in clock ticks.
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
CLK_TCK=$(getconf CLK_TCK)

proc_alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# stop_server PID: SIGTERM, up to 20 s to exit (callgrind writes its file
# then), then SIGKILL.
stop_server() {
    local pid=$1 i keep=()
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 200); do
        proc_alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in "${SERVER_PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
    SERVER_PIDS=("${keep[@]}")
}

# start_server NAME LOG PORT [PREFIX...] -- sets SERVER_PID. PREFIX (e.g.
# valgrind) goes between taskset and the server; taskset and valgrind exec,
# so $! is the server's own pid.
SERVER_PID=
SERVER_CPUS=0 # taskset lists: the server's cores, tern-bench's
BENCH_CPUS=1
start_server() {
    local name=$1 log=$2 port=$3 state
    shift 3
    case "$name" in
    tern | tern-non | tern-w2)
        # tern-non: notifications as NON; tern-w2: two worker processes
        local variant=${TERN_WORKERS:+$TERN_WORKERS}
        [ "$name" = tern-non ] && variant="$variant --notify non"
        [ "$name" = tern-w2 ] && variant="--workers 2"
        state=$(mktemp -d "$STATE_ROOT/state.XXXXXX")
        taskset -c "$SERVER_CPUS" "$@" "$TERN_SERVER" --port "$port" --bind 127.0.0.1 \
            --state-dir "$state" -q $variant \
            ${TERN_EXTRA:+$TERN_EXTRA} >"$log" 2>&1 &
        ;;
    ceiling)
        taskset -c "$SERVER_CPUS" "$@" "$CEILING" -p "$port" -b 127.0.0.1 -o 200000 >"$log" 2>&1 &
        ;;
    libcoap)
        # -d 1: PUT to an unknown path creates one observable resource that
        # keeps the PUT's payload (its Content-Format, text/plain when none),
        # answers GET with it and notifies observers of each later PUT.
        taskset -c "$SERVER_CPUS" "$@" "$COAP_SERVER" -A 127.0.0.1 -p "$port" -d 1 >"$log" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    if ! wait_bound "$port" "$SERVER_PID"; then
        tail -5 "$log" >&2
        die "$name did not start on 127.0.0.1:$port (log: $log)"
    fi
    SERVER_RSS=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo)
    # One PUT OFF: creates libcoap's /alarm; the state tern-server and
    # ceiling start in, so for them it changes nothing. Every server starts
    # a measurement with /alarm = OFF.
    bench_run "$OUT/logs/put-$name-$port.json" -m PUT -p OFF -n 1 --timeout 10000 \
        "coap://127.0.0.1:$port/alarm" ||
        die "$name: the first PUT /alarm was not answered (log: $log)"
}

# load_flags TYPE: tern-bench's flags for CON or NON load (into flags).
load_flags() {
    if [ "$1" = NON ]; then flags=(-N --timeout "$NON_TIMEOUT")
    else flags=(--timeout "$CON_TIMEOUT"); fi
}

# say_rps OK FILE: the line of a load run (its rate and timeouts).
say_rps() {
    if [ "$1" = 1 ]; then
        node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));
            console.log(`${Math.round(j.rps)} answers/s, timeouts ${j.timeouts}`)' "$2"
    else
        say "no answer"
    fi
}

# bench_run OUTFILE ARGS... : tern-bench --json on core 1; its JSON line to
# OUTFILE. Exit status 1 (nothing answered) still leaves a report.
bench_run() {
    local out=$1 rc=0
    shift
    taskset -c "$BENCH_CPUS" "$TERN_BENCH" --json "$@" >"$out" 2>>"$OUT/logs/tern-bench.stderr" || rc=$?
    [ -s "$out" ] || { note "tern-bench $* printed nothing (exit $rc)"; return 1; }
    [ "$rc" -le 1 ]
}

SERVERS="ceiling tern"
[ -n "$COAP_SERVER" ] && SERVERS="$SERVERS libcoap"

# --- GET load ------------------------------------------------------------------
say "== GET /alarm: windows $WINDOWS, CON and NON, $REPS x $DUR s per configuration"
declare -A PORT SPID
for s in $SERVERS; do
    PORT[$s]=$(pick_port)
    start_server "$s" "$OUT/logs/get-$s.log" "${PORT[$s]}"
    SPID[$s]=$SERVER_PID
    echo "$SERVER_RSS" >"$OUT/raw/rss-start-get-$s"
done
total=$((REPS * 2 * $(echo $WINDOWS | wc -w) * $(echo $SERVERS | wc -w)))
n=0
for rep in $(seq "$REPS"); do
    for type in CON NON; do
        for w in $WINDOWS; do
            for s in $SERVERS; do
                n=$((n + 1))
                load_flags "$type"
                f="$OUT/raw/get-$s-$type-w$w-r$rep.json"
                printf '  [%3d/%d] %-8s %s w=%-3s run %d: ' "$n" "$total" "$s" "$type" "$w" "$rep"
                d0=$(sock_drops "${PORT[$s]}")
                c0=$(cpu_ticks "${SPID[$s]}")
                ok=0
                bench_run "$f" "${flags[@]}" -w "$w" -d "$DUR" \
                    "coap://127.0.0.1:${PORT[$s]}/alarm" && ok=1
                echo $(($(sock_drops "${PORT[$s]}") - d0)) >"${f%.json}.sockdrops"
                echo "$(($(cpu_ticks "${SPID[$s]}") - c0)) $CLK_TCK" >"${f%.json}.cpu"
                say_rps "$ok" "$f"
            done
        done
    done
done
for s in $SERVERS; do stop_server "${SPID[$s]}"; done

# --- Observe fan-out -----------------------------------------------------------
# 1k and 10k: one observer per client socket (as real observers are); 100k:
# 10,000 sockets of 10 tokens (the hard fd limit here is 20,000). libcoap
# 4.3 keeps one observation per client and resource (a second registration
# from the same socket replaces the first, whatever its token), so it runs
# only where each observer has a socket of its own.
say "== Observe fan-out: $FANOUT_SIZES observers, $FANOUT_ROUNDS rounds, a fresh server each"
HARD_NOFILE=$(ulimit -Hn)
for s in $SERVERS tern-non; do
    for nobs in $FANOUT_SIZES; do
        if [ "$nobs" -ge 100000 ]; then tok=10; else tok=1; fi
        if [ "$s" = libcoap ] && [ "$tok" -gt 1 ]; then
            say "  $s $nobs: skipped (needs $nobs sockets, hard fd limit $HARD_NOFILE; libcoap keeps one observer per socket)"
            continue
        fi
        if [ "$HARD_NOFILE" != unlimited ] && [ $((nobs / tok + 64)) -gt "$HARD_NOFILE" ]; then
            say "  $s $nobs: skipped ($((nobs / tok)) sockets do not fit the hard fd limit $HARD_NOFILE)"
            continue
        fi
        port=$(pick_port)
        TERN_EXTRA=
        case "$s" in tern*) TERN_EXTRA="--max-observers 200000 --max-observers-per-address 200000" ;; esac
        start_server "$s" "$OUT/logs/fanout-$s-$nobs.log" "$port"
        TERN_EXTRA=
        echo "$SERVER_RSS" >"$OUT/raw/rss-start-fanout-$s-$nobs"
        f="$OUT/raw/fanout-$s-$nobs.json"
        printf '  %-8s %6d observers (%d sockets x %d): ' "$s" "$nobs" $((nobs / tok)) "$tok"
        d0=$(sock_drops "$port")
        ok=0
        bench_run "$f" --observe "$nobs" -t "$tok" --rounds "$FANOUT_ROUNDS" \
            --timeout "$FANOUT_TIMEOUT" --server-pid "$SERVER_PID" \
            "coap://127.0.0.1:$port/alarm" && ok=1
        echo $(($(sock_drops "$port") - d0)) >"${f%.json}.sockdrops"
        if [ "$ok" = 1 ]; then
            node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));
                console.log(`registered ${j.register.confirmed} in ${j.register.time_ms} ms; notified ` +
                  j.rounds.map(r => `${r.notified}/${r.target}`).join(", "))' "$f"
        else
            say "failed"
        fi
        stop_server "$SERVER_PID"
    done
done

# --- several cores --------------------------------------------------------------
# Every process may run on both cores: the server's workers and tern-bench
# share them, so two workers can at best take what the client leaves.
say "== several cores: tern-server --workers 1 and 2, ceiling; window 256, 4 sockets, $REPS x $DUR s"
SERVER_CPUS=0,1
BENCH_CPUS=0,1
declare -A SPORT SSPID
for s in ceiling tern tern-w2; do
    SPORT[$s]=$(pick_port)
    start_server "$s" "$OUT/logs/scale-$s.log" "${SPORT[$s]}"
    SSPID[$s]=$SERVER_PID
done
for rep in $(seq "$REPS"); do
    for type in CON NON; do
        for s in ceiling tern tern-w2; do
            load_flags "$type"
            f="$OUT/raw/scale-$s-$type-r$rep.json"
            printf '  %-8s %s run %d: ' "$s" "$type" "$rep"
            ok=0
            bench_run "$f" "${flags[@]}" -w 256 -s 4 -d "$DUR" \
                "coap://127.0.0.1:${SPORT[$s]}/alarm" && ok=1
            say_rps "$ok" "$f"
        done
    done
done
for s in ceiling tern tern-w2; do stop_server "${SSPID[$s]}"; done
SERVER_CPUS=0
BENCH_CPUS=1

# --- instructions per GET (callgrind) -----------------------------------------
if [ "$HAVE_VALGRIND" = 1 ]; then
    say "== instructions per GET: callgrind, $CG_SMALL then $CG_LARGE GETs (window 16)"
    for s in tern libcoap; do
        [ "$s" = libcoap ] && [ -z "$COAP_SERVER" ] && continue
        for n in $CG_SMALL $CG_LARGE; do
            port=$(pick_port)
            cg="$OUT/raw/callgrind.out.$s.$n"
            start_server "$s" "$OUT/logs/callgrind-$s-$n.log" "$port" \
                valgrind --tool=callgrind --callgrind-out-file="$cg"
            bench_run "$OUT/raw/callgrind-load-$s-$n.json" -n "$n" -w 16 --timeout 60000 \
                "coap://127.0.0.1:$port/alarm" || note "$s: the callgrind load run failed"
            stop_server "$SERVER_PID"
            total_ir=$(callgrind_annotate "$cg" 2>/dev/null |
                awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' || true)
            echo "${total_ir:-}" >"$OUT/raw/callgrind-$s-$n.total"
            say "  $s, $n GETs: ${total_ir:-?} instructions"
        done
    done
fi

# --- report --------------------------------------------------------------------
GIT_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | paste -sd' ' - || true)
export TERN_WORKERS BACKGROUND OUT REPS DUR QUICK CMDLINE GIT_COMMIT GIT_DIRTY C_FLAGS C_COMPILER_VERSION \
    FANOUT_ROUNDS FANOUT_TIMEOUT CON_TIMEOUT NON_TIMEOUT CG_SMALL CG_LARGE HAVE_GNUPLOT
export CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
export NPROC=$(nproc) KERNEL=$(uname -srm) DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export LIBCOAP_BIN=${COAP_SERVER:+$(basename "$COAP_SERVER")}
LIBCOAP_VERSION=
if [ -n "$COAP_SERVER" ]; then # its -h output's second line: "NAME vX.Y.Z -- ..."
    LIBCOAP_VERSION=$("$COAP_SERVER" -h 2>&1 | sed -n 's/^[^ ]* v\([0-9][0-9.]*\) .*/\1/p' | head -1 || true)
fi
export LIBCOAP_VERSION
export TERN_BENCH_VERSION=$("$TERN_BENCH" -V)
export RMEM_DEFAULT=$(sysctl -n net.core.rmem_default 2>/dev/null || echo '?')

node - <<'EOF'
// Reads OUT/raw, prints the tables, writes OUT/results.md and OUT/rps.dat.
const fs = require("fs"), path = require("path");
const E = process.env, OUT = E.OUT, RAW = path.join(OUT, "raw");
const sockDrops = f => { try { return +fs.readFileSync(path.join(RAW, f.replace(/\.json$/, ".sockdrops")), "utf8"); } catch { return null; } };
// The server's CPU seconds during a run (user + system).
const cpuSec = f => { try { const [t, hz] = fs.readFileSync(path.join(RAW, f.replace(/\.json$/, ".cpu")), "utf8").trim().split(/\s+/).map(Number); return t / hz; } catch { return null; } };
const read = f => { try { return JSON.parse(fs.readFileSync(path.join(RAW, f))); } catch { return null; } };
const median = a => { const v = a.filter(x => x != null && !Number.isNaN(x)).sort((x, y) => x - y);
  if (!v.length) return null; const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
const sum = a => a.reduce((x, y) => x + (y || 0), 0);
const fmt = (x, d = 0) => x == null ? "-" : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (a, b) => a == null || b == null || b === 0 ? "-" : (a / b).toFixed(2);

const SERVERS = ["ceiling", "tern", "libcoap"];
const NAME = { ceiling: "ceiling", tern: "tern-server", libcoap: "libcoap",
               "tern-non": "tern-server --notify non", "tern-w2": "tern-server --workers 2" };
const WINDOWS = [1, 16, 256], TYPES = ["CON", "NON"], REPS = +E.REPS;

// Text and markdown from the same rows.
function table(head, rows, align) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)));
  const pad = (s, i) => align[i] === "l" ? String(s).padEnd(w[i]) : String(s).padStart(w[i]);
  const text = [head.map(pad).join("  "), w.map(n => "-".repeat(n)).join("  "),
                ...rows.map(r => r.map(pad).join("  "))].join("\n");
  const md = ["| " + head.join(" | ") + " |",
              "|" + align.map(a => a === "l" ? ":---" : "---:").join("|") + "|",
              ...rows.map(r => "| " + r.join(" | ") + " |")].join("\n");
  return { text, md };
}

// GET load
const get = {};
for (const s of SERVERS) for (const t of TYPES) for (const w of WINDOWS) {
  const runs = [];
  for (let r = 1; r <= REPS; r++) {
    const f = `get-${s}-${t}-w${w}-r${r}.json`, j = read(f);
    if (j) { j.sock_drops = sockDrops(f); j.cpu_s = cpuSec(f); runs.push(j); }
  }
  if (!runs.length) continue;
  get[`${s}/${t}/${w}`] = {
    n: runs.length,
    rps: median(runs.map(j => j.rps)),
    rpsMin: Math.min(...runs.map(j => j.rps)), rpsMax: Math.max(...runs.map(j => j.rps)),
    p50: median(runs.map(j => j.latency_us && j.latency_us.p50)),
    p99: median(runs.map(j => j.latency_us && j.latency_us.p99)),
    requests: sum(runs.map(j => j.requests)),
    timeouts: sum(runs.map(j => j.timeouts)),
    retx: sum(runs.map(j => j.retransmissions)),
    drops: sum(runs.map(j => j.udp_drops)),
    sockDrops: sum(runs.map(j => j.sock_drops)),
    // share of a core the server used while tern-bench ran, and its CPU
    // time per answer: the second holds when the client is the bottleneck
    cpuPct: median(runs.map(j => j.cpu_s == null ? null : 100 * j.cpu_s / j.elapsed_s)),
    cpuUs: median(runs.map(j => j.cpu_s == null || !j.answers ? null : 1e6 * j.cpu_s / j.answers)),
  };
}
const getRows = [];
for (const t of TYPES) for (const w of WINDOWS) for (const s of SERVERS) {
  const g = get[`${s}/${t}/${w}`]; if (!g) continue;
  getRows.push([NAME[s], t, w, fmt(g.rps), g.n > 1 ? `${fmt(g.rpsMin)}-${fmt(g.rpsMax)}` : "-",
                fmt(g.cpuPct), fmt(g.cpuUs, 2), fmt(g.p50, 1), fmt(g.p99, 1),
                `${fmt(g.timeouts)} / ${fmt(g.requests)}`, fmt(g.retx), `${fmt(g.sockDrops)} / ${fmt(g.drops)}`]);
}
const getT = table(["server", "type", "window", "answers/s", "min-max", "server CPU %", "server CPU us/answer", "p50 us", "p99 us",
                    "timeouts / requests", "retransmissions", "UDP drops: server / machine"],
                   getRows, ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"]);
const ratioRows = [];
for (const t of TYPES) for (const w of WINDOWS) {
  const r = s => get[`${s}/${t}/${w}`] ? get[`${s}/${t}/${w}`].rps : null;
  const p = s => get[`${s}/${t}/${w}`] ? get[`${s}/${t}/${w}`].p50 : null;
  const c = s => get[`${s}/${t}/${w}`] ? get[`${s}/${t}/${w}`].cpuUs : null;
  ratioRows.push([t, w, fmt(r("tern")), fmt(r("libcoap")), fmt(r("ceiling")),
                  ratio(r("tern"), r("libcoap")), ratio(r("tern"), r("ceiling")), ratio(p("tern"), p("libcoap")),
                  ratio(c("libcoap"), c("tern"))]);
}
const ratioT = table(["type", "window", "tern-server", "libcoap", "ceiling", "tern/libcoap", "tern/ceiling", "p50 tern/libcoap",
                      "CPU per answer libcoap/tern"],
                     ratioRows, ["l", "r", "r", "r", "r", "r", "r", "r", "r"]);

// rps.dat for the plot: window, then CON and NON of each server ("-": none)
const dat = ["# window " + TYPES.map(t => SERVERS.map(s => `${s}_${t}`).join(" ")).join(" ")];
for (const w of WINDOWS)
  dat.push([w, ...TYPES.flatMap(t => SERVERS.map(s => get[`${s}/${t}/${w}`] ? Math.round(get[`${s}/${t}/${w}`].rps) : "-"))].join(" "));
fs.writeFileSync(path.join(OUT, "rps.dat"), dat.join("\n") + "\n");

// Observe fan-out
const fanRows = [];
for (const s of ["tern", "tern-non", "ceiling", "libcoap"]) for (const n of [1000, 10000, 100000]) {
  const j = read(`fanout-${s}-${n}.json`); if (!j) continue;
  const rounds = j.rounds || [];
  const complete = rounds.filter(r => r.all_ms != null).length;
  const all = complete === rounds.length && rounds.length ? fmt(median(rounds.map(r => r.all_ms)), 1)
            : `${complete}/${rounds.length} rounds complete`;
  const rss = j.server_rss || {};
  fanRows.push([NAME[s], fmt(n), `${fmt(j.sockets)} x ${j.tokens_per_socket}`,
                `${fmt(j.register.confirmed)}` + (j.register.plain ? ` (+${fmt(j.register.plain)} plain)` : ""),
                fmt(j.register.time_ms, 1), all, fmt(median(rounds.map(r => r.p50_ms)), 1),
                `${fmt(sum(rounds.map(r => r.notified)))} / ${fmt(sum(rounds.map(r => r.target)))}`,
                fmt(j.duplicates + j.other_payload), `${fmt(sockDrops(`fanout-${s}-${n}.json`))} / ${fmt(j.udp_drops)}`, fmt(rss.per_observer_bytes),
                rss.after_bytes != null ? `${(rss.before_bytes / 1048576).toFixed(1)} -> ${(rss.after_bytes / 1048576).toFixed(1)}` : "-"]);
}
const fanT = table(["server", "observers", "sockets x tokens", "registered", "register ms", "notify all ms (median)",
                    "p50 arrival ms", "notified / expected", "dup+stale", "UDP drops: server / machine", "RSS B/observer", "RSS MiB"],
                   fanRows, ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"]);

// tern-server's tables are address space at start and resident memory as
// they fill (src/base/slots.h): its RSS at start, with the default limits
// and with --max-observers 200000.
const rssStart = f => { try { const v = fs.readFileSync(path.join(RAW, f), "utf8").trim(); return v ? +v : null; } catch { return null; } };
let fanNote = "";
{
  const small = rssStart("rss-start-get-tern"), big = rssStart("rss-start-fanout-tern-100000") ?? rssStart("rss-start-fanout-tern-1000");
  if (small && big)
    fanNote = `tern-server's RSS at start: ${(small / 1048576).toFixed(1)} MiB with the defaults (--max-observers 100000), ` +
      `${(big / 1048576).toFixed(1)} MiB with --max-observers 200000; its tables become resident as they fill, ` +
      `so RSS B/observer is what the registrations cost (the answers' dedup cache, about 5 MiB, is in it at 1k and 10k).`;
}

// Several cores
const scaleRows = [];
const scale = {};
for (const t of TYPES) for (const s of ["ceiling", "tern", "tern-w2"]) {
  const runs = [];
  for (let r = 1; r <= REPS; r++) { const j = read(`scale-${s}-${t}-r${r}.json`); if (j) runs.push(j); }
  if (!runs.length) continue;
  scale[`${s}/${t}`] = median(runs.map(j => j.rps));
  scaleRows.push([NAME[s], t, fmt(scale[`${s}/${t}`]), fmt(median(runs.map(j => j.latency_us && j.latency_us.p99)), 1),
                  `${fmt(sum(runs.map(j => j.timeouts)))} / ${fmt(sum(runs.map(j => j.requests)))}`]);
}
const scaleT = table(["server", "type", "answers/s", "p99 us", "timeouts / requests"], scaleRows, ["l", "l", "r", "r", "r"]);
const scaleNote = TYPES.map(t => `${t}: workers 2/1 ${ratio(scale[`tern-w2/${t}`], scale[`tern/${t}`])}, ` +
  `workers 1/ceiling ${ratio(scale[`tern/${t}`], scale[`ceiling/${t}`])}`).join("; ") +
  ". tern-bench shares the two cores with the server here: what it takes is not the server's.";

// Instructions per GET
const cgRead = (s, n) => { try { const v = fs.readFileSync(path.join(RAW, `callgrind-${s}-${n}.total`), "utf8").trim(); return v ? +v : null; } catch { return null; } };
const cg = {};
const cgRows = [];
for (const s of ["tern", "libcoap"]) {
  const a = cgRead(s, E.CG_SMALL), b = cgRead(s, E.CG_LARGE);
  if (a == null && b == null) continue;
  cg[s] = a != null && b != null ? (b - a) / (E.CG_LARGE - E.CG_SMALL) : null;
  cgRows.push([NAME[s], fmt(a), fmt(b), fmt(cg[s])]);
}
const cgT = table(["server", `instructions, ${fmt(+E.CG_SMALL)} GETs`, `instructions, ${fmt(+E.CG_LARGE)} GETs`, "per GET"],
                  cgRows, ["l", "r", "r", "r"]);
const cgRatio = cg.tern && cg.libcoap ? `libcoap/tern: ${(cg.libcoap / cg.tern).toFixed(2)}` : "";

const machine = [
  `- machine: ${E.CPU_MODEL || "?"}, ${E.NPROC} cores, ${E.KERNEL}; net.core.rmem_default ${E.RMEM_DEFAULT}`,
  `- background load: ${E.BACKGROUND}`,
  `- commit: ${E.GIT_COMMIT}` + (E.GIT_DIRTY ? `, tree dirty (${E.GIT_DIRTY})` : ", tree clean"),
  `- build: ${E.C_COMPILER_VERSION}, RelWithDebInfo (${E.C_FLAGS}); ${E.TERN_BENCH_VERSION}`,
  `- libcoap: ${E.LIBCOAP_BIN ? `${E.LIBCOAP_BIN} ${E.LIBCOAP_VERSION}` : "not found"}`,
  `- servers: \`tern-server -q${E.TERN_WORKERS ? " " + E.TERN_WORKERS : ""}\` (fan-out: \`--max-observers 200000 --max-observers-per-address 200000\`); ` +
    `\`${E.LIBCOAP_BIN || "coap-server"} -d 1\` (/alarm made by one PUT of OFF); \`ceiling -o 200000\`; all bound to 127.0.0.1`,
  `- date: ${E.DATE}`,
  `- command: \`${E.CMDLINE}\``,
  `- GET: ${E.REPS} run(s) of ${E.DUR} s per configuration, medians; one client socket; ` +
    `--timeout ${E.CON_TIMEOUT} ms (CON), ${E.NON_TIMEOUT} ms (NON); server on core 0, tern-bench on core 1`,
  `- fan-out: ${E.FANOUT_ROUNDS} rounds, --timeout ${E.FANOUT_TIMEOUT} ms per registration and per round, registration window 16`,
];

const sections = [
  ["GET /alarm: answers per second and latency (medians; counts summed over the runs)", getT],
  ["GET /alarm: answers per second side by side", ratioT],
  ["Observe fan-out (CON registrations; one PUT per round)", fanT],
  ["Several cores: GET /alarm, window 256, 4 client sockets, every process on both cores", scaleT],
  ["User-space instructions per GET (callgrind, window 16)", cgT],
];

let text = "\n" + machine.map(l => l.replace(/`/g, "")).join("\n") + "\n";
const after = t => t === cgT && cgRatio ? cgRatio : t === fanT && fanNote ? fanNote : t === scaleT ? scaleNote : "";
for (const [title, t] of sections) text += `\n${title}\n\n${t.text}\n` + (after(t) ? `${after(t)}\n` : "");
process.stdout.write(text);

let md = `# tern compare: ${E.DATE}\n\n${machine.join("\n")}\n`;
for (const [title, t] of sections) md += `\n## ${title}\n\n${t.md}\n` + (after(t) ? `\n${after(t)}\n` : "");
md += E.HAVE_GNUPLOT === "1" ? "\n![answers per second against window](rps.png)\n"
                             : "\nNo plot: gnuplot is missing (Debian: apt-get install gnuplot-nox).\n";
fs.writeFileSync(path.join(OUT, "results.md"), md);
EOF

if [ "$HAVE_GNUPLOT" = 1 ]; then
    # One y scale for both panels: the largest rate, plus a tenth.
    ymax=$(awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i != "-" && $i + 0 > m) m = $i + 0 }
                END { print int(m * 1.1) + 1 }' "$OUT/rps.dat")
    if gnuplot -e "data='$OUT/rps.dat'; out='$OUT/rps.png'; ymax=$ymax; subtitle='$CPU_MODEL, $NPROC cores, $GIT_COMMIT'" \
        bench/plot.gp 2>"$OUT/logs/gnuplot.log"; then
        say "plot: $OUT/rps.png"
    else
        note "gnuplot failed (log: $OUT/logs/gnuplot.log)"
    fi
fi
say "results: $OUT/results.md"
