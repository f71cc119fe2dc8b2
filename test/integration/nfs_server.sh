# An NFS server for the tests: nfs-ganesha (FSAL VFS) on loopback at free
# high ports, serving NFSv3 and NFSv4 (minor versions 0, 1 and 2: libnfs 4.0
# speaks 4.0, the kernel 4.1), with its configuration, log, pid file and
# NFSv4 recovery folder under one folder, stopped by pid. ganesha.nfsd must
# register with a portmapper when it starts: rpcbind is started (and later
# stopped) when none answers; clients never need it, the URL names both
# ports.
#
# Sourced by a test after lib.sh:
#   nfs_start ROOT EXPORT_DIR
# exports EXPORT_DIR read-only (no root squash, AUTH_SYS) under its own path
# (Path = Pseudo = EXPORT_DIR, so one URL path serves v3 and v4) and sets
# NFS_PORT, NFS_MOUNT_PORT, NFS_PID and NFS_QUERY
# ("nfsport=N&mountport=M"); `nfs_url PATH [VERSION]` prints the URL of PATH
# (absolute, at or under EXPORT_DIR) for libnfs, e.g.
# nfs://127.0.0.1/srv/x?nfsport=20490&mountport=20491 (version 3) or
# ...?version=4&nfsport=20490. nfs_stop stops the server; nfs_pause /
# nfs_resume stop and continue it (a server that no longer answers);
# nfs_kill kills it (a crash); nfs_restart starts it again on the same
# ports. Run as a program, `nfs_server.sh start ROOT EXPORT_DIR` prints the
# query (nfsport=N&mountport=M) and leaves the server running;
# `nfs_server.sh stop ROOT` stops it (and the rpcbind it started).
# NFS_LEASE_SECONDS sets the NFSv4 lease (default 60 s).

NFS_PORT=""
NFS_MOUNT_PORT=""
NFS_PID=""
NFS_QUERY=""
NFS_ROOT=""
NFS_EXPORT=""
NFS_RPCBIND_PID=""  # the rpcbind nfs_start started, if any

# nfs_conf ROOT EXPORT_DIR PORT: the ganesha.conf of the server; the NFS
# service at PORT, MOUNT at PORT+1, NLM and RQUOTA (off) at PORT+2, PORT+3.
nfs_conf() {
    local root=$1 dir=$2 port=$3
    cat <<EOF
NFS_CORE_PARAM {
    Bind_addr = 127.0.0.1;
    NFS_Port = $port;
    MNT_Port = $((port + 1));
    NLM_Port = $((port + 2));
    Rquota_Port = $((port + 3));
    Protocols = 3, 4;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
}
NFS_KRB5 { Active_krb5 = false; }
NFSv4 {
    Graceless = true;
    Lease_Lifetime = ${NFS_LEASE_SECONDS:-60};
    Minor_Versions = 0, 1, 2;
    Only_Numeric_Owners = true;
    Allow_Numeric_Owners = true;
    RecoveryRoot = "$root/recovery";
}
EXPORT {
    Export_Id = 1;
    Path = "$dir";
    Pseudo = "$dir";
    Access_Type = RO;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 3, 4;
    Transports = TCP;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
}

# nfs_port_free PORT: nothing listens on PORT.
nfs_port_free() { ! ss -Htln "sport = :$1" | grep -q .; }

# nfs_free_port: the first port from 20490 on (in steps of 4) such that it
# and the 3 after it are free.
nfs_free_port() {
    local port i ok
    for ((port = 20490; port < 20890; port += 4)); do
        ok=1
        for ((i = 0; i < 4; i++)); do nfs_port_free $((port + i)) || { ok=0; break; }; done
        [ $ok = 1 ] && { echo "$port"; return 0; }
    done
    die "no 4 free ports in 20490..20889 for ganesha.nfsd"
}

# nfs_rpcbind: starts rpcbind unless a portmapper answers already (kept in
# NFS_RPCBIND_PID, stopped by nfs_stop).
nfs_rpcbind() {
    local i
    rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && return 0
    rpcbind -f -w </dev/null >>"$NFS_ROOT/rpcbind.out" 2>&1 &
    NFS_RPCBIND_PID=$!
    echo "$NFS_RPCBIND_PID" >"$NFS_ROOT/rpcbind.pid"
    CLEANUP_PIDS+=("$NFS_RPCBIND_PID")
    for ((i = 0; i < 100; i++)); do
        rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && return 0
        kill -0 "$NFS_RPCBIND_PID" 2>/dev/null || die "rpcbind exited: $(cat "$NFS_ROOT/rpcbind.out")"
        sleep 0.1
    done
    die "rpcbind did not answer within 10 s"
}

# nfs_serving: the server lists the export over NFSv3 and NFSv4.
nfs_serving() {
    nfs-ls "$(nfs_url "$NFS_EXPORT" 3)" >/dev/null 2>&1 && nfs-ls "$(nfs_url "$NFS_EXPORT" 4)" >/dev/null 2>&1
}

# nfs_launch: starts ganesha.nfsd (foreground mode, as a child of this
# shell) with the configuration written by nfs_start; waits until it serves.
nfs_launch() {
    nfs_port_free "$NFS_PORT" && nfs_port_free "$NFS_MOUNT_PORT" ||
        die "port $NFS_PORT or $NFS_MOUNT_PORT is taken: cannot (re)start ganesha.nfsd"
    # Each start: another test's nfs_stop may have stopped the rpcbind seen before.
    nfs_rpcbind
    ganesha.nfsd -F -f "$NFS_ROOT/ganesha.conf" -L "$NFS_ROOT/ganesha.log" -p "$NFS_ROOT/ganesha.pid" \
        -N NIV_EVENT </dev/null >>"$NFS_ROOT/ganesha.out" 2>&1 &
    NFS_PID=$!
    echo "$NFS_PID" >"$NFS_ROOT/nfsd.pid"
    CLEANUP_PIDS+=("$NFS_PID")
    wait_serving ganesha.nfsd "$NFS_PID" "$NFS_ROOT/ganesha.out $NFS_ROOT/ganesha.log" nfs_serving
    echo "ganesha.nfsd (pid $NFS_PID) exports $NFS_EXPORT on 127.0.0.1 ($NFS_QUERY)"
}

nfs_start() {
    local root=$1 dir
    require ganesha.nfsd nfs-ganesha
    compgen -G "/usr/lib/*/ganesha/libfsalvfs.so" >/dev/null ||
        die "ganesha's VFS FSAL (libfsalvfs.so) is missing: install the Debian package 'nfs-ganesha-vfs'"
    require rpcbind rpcbind
    require rpcinfo rpcbind
    require nfs-ls libnfs-utils
    require ss iproute2
    dir=$(cd "$2" && pwd -P) || die "nfs_start: no folder $2"
    NFS_ROOT=$root
    NFS_EXPORT=$dir
    mkdir -p "$root/recovery"
    NFS_PORT=$(nfs_free_port)
    NFS_MOUNT_PORT=$((NFS_PORT + 1))
    NFS_QUERY="nfsport=$NFS_PORT&mountport=$NFS_MOUNT_PORT"
    nfs_conf "$root" "$dir" "$NFS_PORT" >"$root/ganesha.conf"
    nfs_launch
}

# nfs_url PATH [VERSION]: the URL of PATH on the server for libnfs and vdiskfs.
nfs_url() {
    case ${2:-3} in
    3) echo "nfs://127.0.0.1$1?$NFS_QUERY" ;;
    4) echo "nfs://127.0.0.1$1?version=4&nfsport=$NFS_PORT" ;;
    *) die "nfs_url: version ${2} (3 or 4)" ;;
    esac
}

# nfs_pause: stops the server and waits until every thread of it is stopped.
nfs_pause() {
    local i state
    kill -STOP "$NFS_PID"
    for ((i = 0; i < 100; i++)); do
        state=$(cat /proc/"$NFS_PID"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -d' ' -f1 | sort -u | tr -d '\n')
        [ "$state" = T ] && return 0
        sleep 0.05
    done
    die "ganesha.nfsd $NFS_PID did not stop (thread states: $state)"
}
nfs_resume() { kill -CONT "$NFS_PID"; }

# A paused server would not end on lib.sh's SIGTERM (cleanup would wait for
# it forever): continue it first, keeping the test's exit status.
if declare -F cleanup >/dev/null; then
    trap 'nfs_exit_status=$?; set +e; [ -z "$NFS_PID" ] || kill -CONT "$NFS_PID" 2>/dev/null; (exit $nfs_exit_status); cleanup' EXIT
fi

# nfs_kill: kills the server at once, as a crash would.
nfs_kill() {
    [ -n "$NFS_PID" ] || return 0
    kill -KILL "$NFS_PID" 2>/dev/null || true
    wait "$NFS_PID" 2>/dev/null || true
    wait_gone "$NFS_PID" 10 || die "ganesha.nfsd $NFS_PID survived SIGKILL"
    NFS_PID=""
}

# nfs_restart: the server again, same configuration and ports.
nfs_restart() {
    [ -z "$NFS_PID" ] || die "nfs_restart: ganesha.nfsd $NFS_PID still runs"
    nfs_launch
}

# nfs_stop: stops the server (and the rpcbind nfs_start started) and waits
# until they are gone.
nfs_stop() {
    if [ -n "$NFS_PID" ]; then
        kill -CONT "$NFS_PID" 2>/dev/null || true
        kill -TERM "$NFS_PID" 2>/dev/null || true
        wait "$NFS_PID" 2>/dev/null || true
        wait_gone "$NFS_PID" 20 || { kill -KILL "$NFS_PID" 2>/dev/null; wait_gone "$NFS_PID" 5; }
        NFS_PID=""
    fi
    if [ -n "$NFS_RPCBIND_PID" ]; then
        kill -TERM "$NFS_RPCBIND_PID" 2>/dev/null || true
        wait "$NFS_RPCBIND_PID" 2>/dev/null || true
        wait_gone "$NFS_RPCBIND_PID" 10 || kill -KILL "$NFS_RPCBIND_PID" 2>/dev/null
        NFS_RPCBIND_PID=""
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    source "$(dirname "$0")/lib.sh" >/dev/null  # (its seed line)
    trap - EXIT
    case ${1:-} in
    start)
        [ $# -eq 3 ] || die "usage: nfs_server.sh start ROOT EXPORT_DIR"
        nfs_start "$2" "$3" >&2
        disown "$NFS_PID"
        [ -z "$NFS_RPCBIND_PID" ] || disown "$NFS_RPCBIND_PID"
        echo "$NFS_QUERY"
        ;;
    stop)
        [ $# -eq 2 ] || die "usage: nfs_server.sh stop ROOT"
        NFS_PID=$(cat "$2/nfsd.pid")
        kill -0 "$NFS_PID" 2>/dev/null || NFS_PID=""
        [ -e "$2/rpcbind.pid" ] && NFS_RPCBIND_PID=$(cat "$2/rpcbind.pid")
        nfs_stop
        ;;
    *) die "usage: nfs_server.sh start ROOT EXPORT_DIR | stop ROOT" ;;
    esac
fi
