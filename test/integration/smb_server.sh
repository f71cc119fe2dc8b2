# An SMB server for the tests: samba's smbd on loopback only, at a free high
# port, with everything it writes (private, lock, state, cache, pid and
# ncalrpc folders, log, passdb) under one folder, stopped by pid.
#
# Sourced by a test after lib.sh:
#   smb_start ROOT GUEST_DIR SECURE_DIR USER   (password on stdin)
# serves GUEST_DIR as share "guest" (anyone, no password) and SECURE_DIR as
# share "secure" (only USER with that password), read-only; sets SMB_PORT
# (kept when set: smb_start after smb_kill restarts the server on the same
# port) and SMB_PID. Files are read as root on the server (force user), so
# the shares show every file whatever its mode; the read-only attribute is
# the owner's missing write bit. USER is a samba account mapped to the unix
# root (username map), so no system user is made. smb_stop stops the
# server; smb_pause / smb_resume stop and continue all its processes (a
# server that no longer answers); smb_kill kills them (a crash). Run as a
# program, `smb_server.sh start ROOT GUEST SECURE USER` (password on stdin)
# prints the port and leaves the server running; `smb_server.sh stop ROOT`
# stops it.

SMB_PORT=""
SMB_PID=""
SMB_ROOT=""

# smb_conf ROOT GUEST_DIR SECURE_DIR USER PORT: the smb.conf of the server.
smb_conf() {
    local root=$1 guest=$2 secure=$3 user=$4 port=$5 d
    for d in private lock state cache pid ncalrpc; do mkdir -p "$root/$d"; done
    echo "root = $user" >"$root/users.map"
    cat <<EOF
[global]
  server role = standalone server
  smb ports = $port
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  private dir = $root/private
  lock directory = $root/lock
  state directory = $root/state
  cache directory = $root/cache
  pid directory = $root/pid
  ncalrpc dir = $root/ncalrpc
  passdb backend = tdbsam:$root/private/passdb.tdb
  username map = $root/users.map
  log file = $root/smbd.log
  log level = 1
  map to guest = Never
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_02
EOF
    smb_share_section guest "$guest" "guest ok = yes" "guest only = yes"
    smb_share_section secure "$secure" "valid users = root" "guest ok = no"
}

# smb_share_section NAME DIR OPTION...: a read-only share of DIR whose files
# are read as root, with the read-only attribute from the owner's write bit
# (no DOS attributes kept in xattrs), and the OPTIONs.
smb_share_section() {
    local name=$1 dir=$2
    shift 2
    printf '[%s]\n  path = %s\n  read only = yes\n  force user = root\n' "$name" "$dir"
    printf '  map readonly = yes\n  store dos attributes = no\n'
    printf '  %s\n' "$@"
}

# smb_free_port: the first port from 4450 on that nothing listens on.
smb_free_port() {
    local port
    for ((port = 4450; port < 4550; port++)); do
        ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return 0; }
    done
    die "no free port in 4450..4549 for smbd"
}

smb_start() {
    local root=$1 guest=$2 secure=$3 user=$4 password i
    require smbd samba
    require smbpasswd samba-common-bin
    require smbclient smbclient
    require ss iproute2
    IFS= read -r password || die "smb_start: no password on stdin"
    SMB_ROOT=$root
    # A restart keeps the port, so that mounts of the server find it again.
    [ -n "$SMB_PORT" ] || SMB_PORT=$(smb_free_port)
    smb_conf "$root" "$guest" "$secure" "$user" "$SMB_PORT" >"$root/smb.conf"
    # The passdb account is the unix name (root); the username map makes
    # the client's USER that account.
    printf '%s\n%s\n' "$password" "$password" |
        smbpasswd -c "$root/smb.conf" -s -a root >"$root/smbpasswd.out" 2>&1 ||
        die "smbpasswd -a failed: $(cat "$root/smbpasswd.out")"
    # smbd -F makes a session of its own (it signals its group on exit).
    smbd -s "$root/smb.conf" -F </dev/null >>"$root/smbd.out" 2>&1 &
    SMB_PID=$!
    echo "$SMB_PID" >"$root/smbd.pid"
    # lib.sh's cleanup runs after the server is stopped, with the test's status.
    trap 'smb_cleanup' EXIT
    wait_serving "smbd on port $SMB_PORT" "$SMB_PID" "$root/smbd.out $root/smbd.log" \
        smbclient -p "$SMB_PORT" -N //127.0.0.1/guest -c ls
    echo "smbd (pid $SMB_PID) serves //127.0.0.1/guest and //127.0.0.1/secure on port $SMB_PORT"
}

# smb_pids: the server's processes (the parent and its per-client children).
smb_pids() {
    [ -n "$SMB_PID" ] || return 0
    echo "$SMB_PID"
    pgrep -P "$SMB_PID" || true
}

smb_pause() { kill -STOP $(smb_pids); }
smb_resume() { kill -CONT $(smb_pids); }

# smb_kill: kills every process of the server at once, as a crash would.
smb_kill() {
    local pids
    pids=$(smb_pids)
    [ -n "$pids" ] || return 0
    kill -KILL $pids 2>/dev/null || true
    wait "$SMB_PID" 2>/dev/null || true
    for p in $pids; do wait_gone "$p" 10 || die "smbd process $p survived SIGKILL"; done
    SMB_PID=""
}

# smb_cleanup: the EXIT trap while the server runs: smb_stop, then lib.sh's
# cleanup with the status the test exited with.
smb_cleanup() {
    local rc=$?
    smb_stop
    (exit $rc)
    cleanup
}

# smb_stop: stops the server (its children first) and waits until it is gone.
smb_stop() {
    local pids p
    pids=$(smb_pids)
    [ -n "$pids" ] || return 0
    kill -CONT $pids 2>/dev/null || true
    kill -TERM $pids 2>/dev/null || true
    wait "$SMB_PID" 2>/dev/null || true
    for p in $pids; do
        wait_gone "$p" 10 || { kill -KILL "$p" 2>/dev/null; wait_gone "$p" 5; }
    done
    SMB_PID=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    source "$(dirname "$0")/lib.sh" >&2
    trap - EXIT
    case ${1:-} in
    start)
        [ $# -eq 5 ] || die "usage: smb_server.sh start ROOT GUEST_DIR SECURE_DIR USER (password on stdin)"
        smb_start "$2" "$3" "$4" "$5" >&2
        trap - EXIT
        disown "$SMB_PID"
        echo "$SMB_PORT"
        ;;
    stop)
        [ $# -eq 2 ] || die "usage: smb_server.sh stop ROOT"
        SMB_PID=$(cat "$2/smbd.pid")
        smb_stop
        ;;
    *) die "usage: smb_server.sh start ROOT GUEST_DIR SECURE_DIR USER | stop ROOT" ;;
    esac
fi
