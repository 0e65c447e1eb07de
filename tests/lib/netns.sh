# shellcheck shell=bash
# Shared helpers of the kernel tests (tests/kernel/test-*.sh): private network namespaces,
# veth links, compiled rulesets applied inside those namespaces only, probes with real packets,
# and pass/fail bookkeeping.
#
# Rules every test keeps (and these helpers enforce where they can):
#   - every namespace is created here, named "lgtest-<test>-<pid>-<random>-<role>", and removed on exit;
#   - nft only ever runs through `ip netns exec <one of ours>`, never in the host namespace;
#   - traffic goes only to loopback or to addresses inside our namespaces;
#   - only processes started here are killed, by PID.
# The summary line "N passed, M failed" is always the last line a test prints.
#
# Usage:  . "$SRCDIR/tests/lib/netns.sh"   (needs root, nft, ip, ping, python3)

: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILDDIR:=$SRCDIR/build}"
: "${LEAKGUARDCTL:=$BUILDDIR/leakguardctl}"
LG_POLICIES="$SRCDIR/tests/kernel/policies"
LG_SHIPPED="$SRCDIR/policy"

lg_passed=0
lg_failed=0
lg_finished=0
LG_NAMESPACES=()
LG_PIDS=()
LG_TEST=$(basename "$0" .sh)
LG_TEST=${LG_TEST#test-}
LG_ID="lgtest-${LG_TEST:0:12}-$$-$RANDOM"
LG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$LG_ID.XXXXXX")
LG_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)

lg_log() { printf '%s\n' "$*"; }

lg_pass() {
        lg_passed=$((lg_passed + 1))
        printf 'PASS %s\n' "$1"
}

lg_fail() {
        lg_failed=$((lg_failed + 1))
        printf 'FAIL %s%s\n' "$1" "${2:+: $2}"
}

# lg_check NAME CMD…: passes when CMD exits 0.
lg_check() {
        local name=$1
        shift
        if "$@"; then lg_pass "$name"; else lg_fail "$name" "command failed: $*"; fi
}

lg_cleanup() {
        local pid ns
        for pid in "${LG_PIDS[@]}"; do
                kill "$pid" 2>/dev/null
        done
        # Whatever still runs inside our own namespaces was started by this test.
        for ns in "${LG_NAMESPACES[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do
                        kill -9 "$pid" 2>/dev/null
                done
        done
        for pid in "${LG_PIDS[@]}"; do
                wait "$pid" 2>/dev/null
        done
        for ns in "${LG_NAMESPACES[@]}"; do
                ip netns del "$ns" 2>/dev/null
        done
        rm -rf "$LG_TMP"
}

lg__on_exit() {
        local rc=$?
        trap - EXIT
        lg_cleanup
        if [ "$lg_finished" -eq 0 ]; then
                lg_failed=$((lg_failed + 1))
                printf 'FAIL test aborted (status %d)\n' "$rc"
        fi
        printf '%d passed, %d failed\n' "$lg_passed" "$lg_failed"
        if [ "$lg_failed" -gt 0 ] || [ "$lg_passed" -eq 0 ]; then exit 1; fi
        exit 0
}
trap lg__on_exit EXIT
trap 'exit 130' INT TERM HUP

# lg_done: normal end of a test (the EXIT trap prints the summary and sets the status).
lg_done() {
        lg_finished=1
        exit 0
}

lg_die() {
        printf 'FAIL setup: %s\n' "$*"
        exit 1
}

lg_require() {
        [ "$(id -u)" -eq 0 ] || lg_die "must run as root"
        local t
        for t in ip nft ping "$LG_PY"; do
                command -v "$t" >/dev/null || lg_die "missing tool: $t"
        done
        [ -x "$LEAKGUARDCTL" ] || lg_die "LEAKGUARDCTL=$LEAKGUARDCTL is not executable"
}

# ---- namespaces and links ----

lg_ns() { printf '%s-%s' "$LG_ID" "$1"; }

# lg_in ROLE CMD…: run CMD inside our namespace ROLE.
lg_in() {
        local ns
        ns=$(lg_ns "$1")
        shift
        ip netns exec "$ns" "$@"
}

# lg_netns_new ROLE…: create namespaces with loopback up and IPv6 DAD off (addresses usable at once).
lg_netns_new() {
        local role ns
        for role in "$@"; do
                ns=$(lg_ns "$role")
                ip netns add "$ns" || lg_die "ip netns add $ns"
                LG_NAMESPACES+=("$ns")
                ip -n "$ns" link set lo up
                ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
                        net.ipv6.conf.all.forwarding=0 net.ipv4.ping_group_range="0 2147483647" \
                        net.ipv6.ip_nonlocal_bind=1 >/dev/null
        done
}

# lg_veth ROLE1 IF1 ROLE2 IF2: a veth pair between two of our namespaces (never in the host's).
lg_veth() {
        ip -n "$(lg_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lg_ns "$3")" ||
                lg_die "veth $1/$2 - $3/$4"
        ip -n "$(lg_ns "$1")" link set "$2" up
        ip -n "$(lg_ns "$3")" link set "$4" up
}

# lg_addr ROLE IF ADDR/PLEN…
lg_addr() {
        local role=$1 dev=$2 a
        shift 2
        for a in "$@"; do
                if [[ $a == *:* ]]; then
                        ip -n "$(lg_ns "$role")" addr add "$a" dev "$dev" nodad || lg_die "addr $a on $role/$dev"
                else
                        ip -n "$(lg_ns "$role")" addr add "$a" dev "$dev" || lg_die "addr $a on $role/$dev"
                fi
        done
}

lg_route() {
        local role=$1
        shift
        ip -n "$(lg_ns "$role")" route add "$@" || lg_die "route on $role: $*"
}

lg_forwarding() {
        lg_in "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
}

# lg_topo_pair: namespaces "a" (client, where rulesets go) and "b" (peer), veth eth0<->eth0.
#   a: 10.99.1.1/24  fd99:1::1/64
#   b: 10.99.1.2/24 10.99.1.3/24 10.99.1.4/24  fd99:1::2/64 fd99:1::3/64 fd99:1::4/64
# and an echo server (UDP and TCP, v4 and v6) in b on the given ports.
lg_topo_pair() {
        lg_netns_new a b
        lg_veth a eth0 b eth0
        lg_addr a eth0 10.99.1.1/24 fd99:1::1/64
        lg_addr b eth0 10.99.1.2/24 10.99.1.3/24 10.99.1.4/24 fd99:1::2/64 fd99:1::3/64 fd99:1::4/64
        # Neighbours resolved before any ruleset (ARP never passes the inet hooks; NDP would).
        lg_in a ping -c1 -W2 -q 10.99.1.2 >/dev/null || lg_die "no IPv4 link"
        lg_in a ping -6 -c1 -W2 -q fd99:1::2 >/dev/null || lg_die "no IPv6 link"
        [ $# -gt 0 ] && lg_serve b "$@"
        return 0
}

# ---- rulesets ----

# lg_compile OUT FILE… KEY=VALUE…: compile with leakguardctl; policy names without a slash are
# looked up in tests/kernel/policies (NAME or NAME.yaml).
lg_compile() {
        local out=$1 a
        shift
        local args=()
        for a in "$@"; do
                if [[ $a != *=* && $a != */* ]]; then
                        a="$LG_POLICIES/${a%.yaml}.yaml"
                fi
                args+=("$a")
        done
        "$LEAKGUARDCTL" compile "${args[@]}" >"$out" 2>"$out.err" || {
                cat "$out.err"
                return 1
        }
}

# lg_apply ROLE FILE: load a ruleset inside our namespace ROLE.
lg_apply() {
        lg_in "$1" nft -f "$2"
}

# lg_compile_apply ROLE FILE… KEY=VALUE…: compile into a temp file and load it; dies on failure.
lg_compile_apply() {
        local role=$1 f
        shift
        f="$LG_TMP/ruleset.$RANDOM.nft"
        lg_compile "$f" "$@" || lg_die "compile $*"
        lg_apply "$role" "$f" || lg_die "nft -f of compiled $* in $role"
}

lg_flush() {
        lg_in "$1" nft delete table inet leakguard 2>/dev/null
        return 0
}

# ---- probes ----
# Results: ok | timeout | rejected (an ICMP error came back) | eperm (dropped on output: sendmsg
# failed with EPERM) | error:…

lg__write_py() {
        cat >"$LG_TMP/lgnet.py" <<'PY'
import errno, os, select, socket, struct, sys, threading, time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)

def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def sockaddr(host, port):
    return socket.getaddrinfo(host, port, fam(host), 0, 0, socket.AI_NUMERICHOST)[0][4]

def classify(e):
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    n = getattr(e, "errno", None)
    if n == errno.EPERM:
        return "eperm"
    if n in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EHOSTDOWN):
        return "rejected"
    if n == errno.ETIMEDOUT:
        return "timeout"
    return "error:%s" % (errno.errorcode.get(n, n) if n else type(e).__name__)

def recv_token(s, token, deadline):
    buf = b""
    while len(buf) < len(token):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        s.settimeout(left)
        d = s.recv(4096)
        if s.type == socket.SOCK_DGRAM:
            if d == token:
                return
            continue
        if not d:
            raise ConnectionResetError(errno.ECONNRESET, "closed")
        buf += d
    if buf != token:
        raise ValueError("bad echo")

def probe(proto, host, port, timeout, sport=None):
    st = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam(host), st)
    deadline = time.monotonic() + timeout
    try:
        if sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if fam(host) == socket.AF_INET6 else "0.0.0.0", sport))
        s.settimeout(timeout)
        s.connect(sockaddr(host, port))
        token = os.urandom(8).hex().encode()
        try:
            s.send(token)
        except OSError as e:
            if e.errno != errno.EPERM or st != socket.SOCK_DGRAM:
                raise
            # Dropped on output. A reject also queues an ICMP error on the socket: tell them apart.
            s.settimeout(0.2)
            try:
                s.recv(4096)
            except Exception as e2:
                if classify(e2) == "rejected":
                    return "rejected"
            return "eperm"
        recv_token(s, token, deadline)
        return "ok"
    except Exception as e:
        return classify(e)
    finally:
        s.close()

def serve(ports, ready):
    socks = {}
    for port in ports:
        for af in (socket.AF_INET, socket.AF_INET6):
            any_ = "0.0.0.0" if af == socket.AF_INET else "::"
            u = socket.socket(af, socket.SOCK_DGRAM)
            if af == socket.AF_INET6:
                u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            else:
                u.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u.bind((any_, port))
            socks[u.fileno()] = ("udp", u)
            t = socket.socket(af, socket.SOCK_STREAM)
            if af == socket.AF_INET6:
                t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((any_, port))
            t.listen(128)
            socks[t.fileno()] = ("tcp", t)
    open(ready, "w").close()
    def echo(c):
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        r, _, _ = select.select(list(socks), [], [])
        for fd in r:
            kind, s = socks[fd]
            try:
                if kind == "tcp":
                    c, _ = s.accept()
                    threading.Thread(target=echo, args=(c,), daemon=True).start()
                    continue
                d, anc, _, peer = s.recvmsg(4096, 256)
                out = []
                for lvl, typ, data in anc:
                    if s.family == socket.AF_INET and lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
                        ifi, spec, dst = struct.unpack("=i4s4s", data[:12])
                        out = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", 0, dst, b"\0" * 4))]
                    elif s.family == socket.AF_INET6 and lvl == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                        out = [(lvl, socket.IPV6_PKTINFO, data)]
                s.sendmsg([d], out, 0, peer)
            except OSError:
                pass

def hold(proto, host, port, timeout):
    """Keep one connection (or one UDP 5-tuple) open; on each 'send' line from stdin, send a token
    on it and print the result."""
    st = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam(host), st)
    s.settimeout(timeout)
    try:
        s.connect(sockaddr(host, port))
        print("connected", flush=True)
    except Exception as e:
        print(classify(e), flush=True)
        return
    for line in sys.stdin:
        if line.strip() != "send":
            break
        token = os.urandom(8).hex().encode()
        try:
            s.send(token)
            recv_token(s, token, time.monotonic() + timeout)
            print("ok", flush=True)
        except Exception as e:
            print(classify(e), flush=True)
            if st == socket.SOCK_STREAM and not isinstance(e, (socket.timeout, TimeoutError)):
                break

def flood(stop, targets, payload=32):
    """Send UDP datagrams round-robin to targets (HOST,PORT) until the file `stop` exists; print
    per target: attempts, sent (sendmsg succeeded), eperm, other errors."""
    socks = []
    for t in targets:
        host, port = t.rsplit(",", 1)
        s = socket.socket(fam(host), socket.SOCK_DGRAM)
        s.connect(sockaddr(host, int(port)))
        socks.append([t, s, 0, 0, 0, 0])
    data = b"x" * payload
    n = 0
    while True:
        for e in socks:
            e[2] += 1
            try:
                e[1].send(data)
                e[3] += 1
            except OSError as x:
                if x.errno == errno.EPERM:
                    e[4] += 1
                else:
                    e[5] += 1
        n += 1
        if n % 2048 == 0 and os.path.exists(stop):
            break
    for t, _, a, ok, ep, other in socks:
        print("%s attempts=%d sent=%d eperm=%d other=%d" % (t, a, ok, ep, other))

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd in ("udp", "tcp"):
        sport = int(sys.argv[5]) if len(sys.argv) > 5 else None
        r = probe(cmd, sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sport)
        print(r)
        sys.exit(0 if r == "ok" else 1)
    elif cmd == "serve":
        serve([int(p) for p in sys.argv[3].split(",")], sys.argv[2])
    elif cmd == "hold":
        hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "flood":
        flood(sys.argv[2], sys.argv[3:])
PY
}
lg__write_py

# lg_bg ROLE CMD…: start CMD in the background inside ROLE; remembers its PID in LG_LAST_PID.
lg_bg() {
        local role=$1
        shift
        ip netns exec "$(lg_ns "$role")" "$@" &
        LG_LAST_PID=$!
        LG_PIDS+=("$LG_LAST_PID")
}

# lg_stop PID: stop one process we started.
lg_stop() {
        kill "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        return 0
}

# lg_serve ROLE PORT[,PORT…]: UDP+TCP echo server (IPv4 and IPv6, replies from the address asked).
lg_serve() {
        local ready="$LG_TMP/ready.$1.$RANDOM"
        lg_bg "$1" "$LG_PY" "$LG_TMP/lgnet.py" serve "$ready" "$2"
        local _
        for _ in $(seq 100); do
                [ -e "$ready" ] && return 0
                sleep 0.05
        done
        lg_die "echo server in $1 did not start"
}

LG_TIMEOUT=${LG_TIMEOUT:-0.7}

# lg_probe ROLE PROTO HOST [PORT [SPORT]]: prints the result word; PROTO udp, tcp or ping.
lg_probe() {
        local role=$1 proto=$2 host=$3 port=${4:-0} sport=${5:-}
        if [ "$proto" = ping ]; then
                local fam=-4 out
                [[ $host == *:* ]] && fam=-6
                out=$(lg_in "$role" ping "$fam" -c1 -W1 "$host" 2>&1)
                if [ $? -eq 0 ]; then
                        echo ok
                elif [[ $out == *"nreachable"* || $out == *"rohibited"* || $out == *"filtered"* ]]; then
                        echo rejected
                elif [[ $out == *"not permitted"* ]]; then
                        echo eperm
                else
                        echo timeout
                fi
                return
        fi
        lg_in "$role" "$LG_PY" "$LG_TMP/lgnet.py" "$proto" "$host" "$port" "$LG_TIMEOUT" ${sport:+"$sport"}
}

# lg_expect WANT ROLE PROTO HOST [PORT [SPORT]]
#   WANT: pass (got through both ways), block (anything else), drop (timeout or eperm),
#   reject (an ICMP error came back fast). $LG_LABEL, when set, is added to the message.
lg_expect() {
        local want=$1 role=$2 proto=$3 host=$4 port=${5:-} sport=${6:-} got ok=0
        local label=${LG_LABEL:+ [$LG_LABEL]}
        got=$(lg_probe "$role" "$proto" "$host" "$port" "$sport")
        case $want in
        pass) [ "$got" = ok ] && ok=1 ;;
        block) [ "$got" != ok ] && ok=1 ;;
        drop) [[ $got == timeout || $got == eperm ]] && ok=1 ;;
        reject) [ "$got" = rejected ] && ok=1 ;;
        esac
        local what="$role: $proto $host${port:+ port $port}${sport:+ from port $sport}"
        if [ $ok = 1 ]; then
                lg_pass "$want $what -> $got$label"
        else
                lg_fail "$want $what$label" "got $got"
        fi
}

# ---- held flows (a connection opened before a ruleset changes) ----
declare -A LG_HOLD_W LG_HOLD_R

# lg_hold_start NAME ROLE PROTO HOST PORT: open one TCP connection (or one UDP 5-tuple) and keep it.
# Sets LG_REPLY to "connected" or an error word. (Not for $(…): the pipes must stay in this shell.)
lg_hold_start() {
        local name=$1 role=$2 proto=$3 host=$4 port=$5 wfd rfd
        mkfifo "$LG_TMP/hold.$name.in" "$LG_TMP/hold.$name.out"
        ip netns exec "$(lg_ns "$role")" "$LG_PY" -u "$LG_TMP/lgnet.py" hold "$proto" "$host" "$port" "$LG_TIMEOUT" \
                <"$LG_TMP/hold.$name.in" >"$LG_TMP/hold.$name.out" &
        LG_PIDS+=("$!")
        exec {wfd}>"$LG_TMP/hold.$name.in"
        exec {rfd}<"$LG_TMP/hold.$name.out"
        LG_HOLD_W[$name]=$wfd
        LG_HOLD_R[$name]=$rfd
        read -r -t 5 LG_REPLY <&"$rfd" || LG_REPLY=no-answer
}

# lg_hold_send NAME: send one token on the held flow; sets LG_REPLY to ok|timeout|eperm|….
lg_hold_send() {
        if ! echo send >&"${LG_HOLD_W[$1]}"; then
                LG_REPLY=closed
                return
        fi 2>/dev/null
        read -r -t 5 LG_REPLY <&"${LG_HOLD_R[$1]}" || LG_REPLY=no-answer
}

# ---- reading the kernel back ----

# lg_counter ROLE COMMENT: packets counted by the rules of table inet leakguard with that comment
# (summed over the IPv4 and IPv6 rules of one filter).
lg_counter() {
        lg_in "$1" nft list table inet leakguard |
                awk -v c="comment \"$2\"" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
                        END { print n + 0 }'
}

# lg_chain_comments ROLE CHAIN: the comments of a chain's rules, in kernel order, one a line
# (consecutive duplicates, the IPv4 and IPv6 rules of one filter, folded).
lg_chain_comments() {
        lg_in "$1" nft list chain inet leakguard "$2" | sed -n 's/.*comment "\([^"]*\)".*/\1/p' | uniq
}

# lg_chain_jumps ROLE CHAIN: the jump targets of a base chain, in kernel order.
lg_chain_jumps() {
        # "jump NAME", or a jump after the tests every rule of NAME implies (compile.c)
        lg_in "$1" nft list chain inet leakguard "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "jump") print $(i + 1) }'
}
