"""Start and stop a throwaway PostgreSQL server for tests / CI.

Library use::

    from postgres_server import start, stop, running_server

    info = start(tmp_dir)            # -> ServerInfo(host, port, user, password, dbname, ...)
    ...
    stop(info)

    with running_server(tmp_dir) as info:
        os.environ.update(info.env())

CLI::

    python scripts/engines/postgres_server.py start  --dir D   # prints `export PG...=...` lines
    python scripts/engines/postgres_server.py env    --dir D   # re-prints them for a running server
    python scripts/engines/postgres_server.py status --dir D   # exit 0 if running, 3 if not
    python scripts/engines/postgres_server.py stop   --dir D [--keep-data]

    eval "$(uv run python scripts/engines/postgres_server.py start --dir /tmp/pg)"

The server listens on 127.0.0.1 only, on a free port picked at start, with unix sockets
disabled (no /var/run/postgresql permission or socket-path-length problems). Durability is
switched off (fsync, synchronous_commit, full_page_writes): the data is disposable.
Authentication is scram-sha-256 over TCP for the superuser created by initdb
(default ``postgres`` / ``postgres``); a database ``crm_warehouse`` is created.

initdb and postgres refuse to run as root. When this runs as root, the server binaries are
run as the ``postgres`` OS user (created by Debian's postgresql package, or by
scripts/engines/ensure_postgres.sh) and the data directory is chowned to it. If that user
cannot reach ``D`` (e.g. pytest's ``/tmp/pytest-of-root`` is mode 0700), the data directory
is created under a fresh ``/tmp/crm-pg-*`` directory instead; ``D/pg_server.json`` records
where it lives, so ``stop --dir D`` always works. As a normal user, everything runs directly.

Binaries are looked up in ``$PG_BINDIR``, then ``/usr/lib/postgresql/<newest>/bin``, then
``PATH``. Run ``scripts/engines/ensure_postgres.sh`` first on a fresh machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DEFAULT_USER = "postgres"
DEFAULT_PASSWORD = "postgres"
DEFAULT_DBNAME = "crm_warehouse"
HOST = "127.0.0.1"
STATE_FILE = "pg_server.json"
OS_USER_ENV = "CRM_PG_OS_USER"  # OS user to run the server as when we are root
START_TIMEOUT_S = 60
PORT_ATTEMPTS = 5

_TUNING = """
# --- throwaway test server settings (scripts/engines/postgres_server.py) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 64MB
max_wal_size = 1GB
logging_collector = off
log_min_messages = warning
include_if_exists = 'throwaway_port.conf'
"""


class PostgresServerError(RuntimeError):
    """Raised when the throwaway server cannot be initialised, started or stopped."""


@dataclasses.dataclass
class ServerInfo:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    data_dir: str
    pid: int
    log_file: str = ""
    bin_dir: str = ""
    os_user: str = ""  # OS user owning the server ("" = current user)
    root_dir: str = ""  # dir holding data_dir + log (may be outside base_dir when root)
    base_dir: str = ""  # dir passed to start(); holds pg_server.json

    def env(self) -> dict[str, str]:
        """libpq environment variables (PGHOST, PGPORT, ...) for this server."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
        }

    def dsn(self, dbname: str | None = None) -> str:
        """libpq keyword/value connection string (usable by psycopg2.connect)."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={dbname or self.dbname}"
        )

    def shell_exports(self) -> str:
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in self.env().items())


# --------------------------------------------------------------------------- helpers


def find_bin_dir() -> Path:
    """Directory containing initdb/pg_ctl/postgres."""
    override = os.environ.get("PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))

    def _ver(p: str) -> int:
        name = Path(p).parent.name
        return int(name) if name.isdigit() else 0

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_ver)[::-1]]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for cand in candidates:
        if (cand / "initdb").is_file() and (cand / "pg_ctl").is_file():
            return cand
    raise PostgresServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in $PG_BINDIR, "
        "/usr/lib/postgresql/*/bin or PATH; run scripts/engines/ensure_postgres.sh"
    )


def _os_user_for_server() -> pwd.struct_passwd | None:
    """The OS user to drop to (None = run as ourselves)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(OS_USER_ENV, "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise PostgresServerError(
            f"running as root but OS user {name!r} does not exist; initdb/postgres refuse to "
            "run as root. Run scripts/engines/ensure_postgres.sh (creates it) or set "
            f"${OS_USER_ENV} to an existing unprivileged user."
        ) from None


def _run(
    cmd: list[str],
    os_user: pwd.struct_passwd | None,
    cwd: Path,
    *,
    timeout: float = 120,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "LC_")) and k not in ("LANG", "LANGUAGE")
    }
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    kwargs: dict = {}
    if os_user is not None:
        env["HOME"] = os_user.pw_dir
        env["USER"] = env["LOGNAME"] = os_user.pw_name
        kwargs = {"user": os_user.pw_uid, "group": os_user.pw_gid, "extra_groups": []}
    if env_extra:
        env.update(env_extra)
    try:
        return subprocess.run(
            cmd,
            cwd=str(cwd),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresServerError(f"timed out after {timeout}s: {shlex.join(cmd)}") from exc


def _chown_tree(path: Path, os_user: pwd.struct_passwd | None) -> None:
    if os_user is None:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, os_user.pw_uid, os_user.pw_gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), os_user.pw_uid, os_user.pw_gid)


def _user_can_use_dir(path: Path, os_user: pwd.struct_passwd) -> bool:
    """Whether os_user can traverse every ancestor of path (path itself will be chowned)."""
    resolved = path.resolve()
    for parent in [*list(resolved.parents)[::-1], resolved]:
        st = parent.stat()
        if st.st_uid == os_user.pw_uid:
            mode_ok = st.st_mode & 0o100
        elif st.st_gid == os_user.pw_gid:
            mode_ok = st.st_mode & 0o010
        else:
            mode_ok = st.st_mode & 0o001
        if not mode_ok:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tail(path: str | Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"(no server log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _fail(msg: str, proc: subprocess.CompletedProcess[str] | None, log_file: str | Path | None):
    parts = [msg]
    if proc is not None:
        parts.append(f"command: {shlex.join(proc.args)} (exit {proc.returncode})")
        out = (proc.stdout or "").strip()
        err = (proc.stderr or "").strip()
        if out:
            parts.append(f"stdout:\n{out}")
        if err:
            parts.append(f"stderr:\n{err}")
    if log_file is not None:
        parts.append(f"server log tail ({log_file}):\n{_tail(log_file)}")
    raise PostgresServerError("\n".join(parts))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_postmaster_pid(data_dir: Path) -> int:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _state_path(base_dir: Path) -> Path:
    return base_dir / STATE_FILE


def _save_state(info: ServerInfo) -> None:
    path = _state_path(Path(info.base_dir))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(info), indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def load_state(base_dir: str | os.PathLike) -> ServerInfo | None:
    """ServerInfo recorded by start() in base_dir, or None."""
    path = _state_path(Path(base_dir))
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    fields = {f.name for f in dataclasses.fields(ServerInfo)}
    return ServerInfo(**{k: v for k, v in data.items() if k in fields})


def is_running(info: ServerInfo) -> bool:
    pid = _read_postmaster_pid(Path(info.data_dir))
    return pid > 0 and pid == info.pid and _pid_alive(pid)


def _psql(info: ServerInfo, sql: str, dbname: str = "postgres") -> None:
    psql = Path(info.bin_dir) / "psql"
    psql_cmd = str(psql) if psql.is_file() else shutil.which("psql")
    if psql_cmd:
        conn = f"host={info.host} port={info.port} user={info.user} dbname={dbname}"
        cmd = [psql_cmd, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", sql]
        proc = _run(
            cmd, None, Path(info.root_dir), timeout=60, env_extra={"PGPASSWORD": info.password}
        )
        if proc.returncode != 0:
            _fail(f"SQL failed on throwaway server: {sql}", proc, info.log_file)
        return
    try:
        import psycopg2
    except ImportError:
        raise PostgresServerError("neither psql nor psycopg2 is available to run SQL") from None
    conn = psycopg2.connect(info.dsn(dbname))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


# --------------------------------------------------------------------------- public API


def start(
    base_dir: str | os.PathLike,
    *,
    user: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    dbname: str = DEFAULT_DBNAME,
    port: int | None = None,
) -> ServerInfo:
    """Initialise (if needed) and start a throwaway server; return its connection info.

    Idempotent per base_dir: if a server started from base_dir is still running, its
    ServerInfo is returned unchanged; an existing (stopped) data dir is reused.
    """
    base = Path(base_dir).absolute()
    base.mkdir(parents=True, exist_ok=True)

    previous = load_state(base)
    if previous is not None and is_running(previous):
        return previous

    bin_dir = find_bin_dir()
    os_user = _os_user_for_server()

    if previous is not None and (Path(previous.data_dir) / "PG_VERSION").is_file():
        root = Path(previous.root_dir)
        user, password = previous.user, previous.password
    elif os_user is not None and not _user_can_use_dir(base, os_user):
        # e.g. /tmp/pytest-of-root is 0700: postgres cannot reach anything below it.
        root = Path(tempfile.mkdtemp(prefix="crm-pg-", dir="/tmp"))
    else:
        root = base / "pg"
        root.mkdir(exist_ok=True)
    data_dir = root / "data"
    log_file = root / "server.log"

    info = ServerInfo(
        host=HOST,
        port=0,
        user=user,
        password=password,
        dbname=dbname,
        data_dir=str(data_dir),
        pid=0,
        log_file=str(log_file),
        bin_dir=str(bin_dir),
        os_user=os_user.pw_name if os_user else "",
        root_dir=str(root),
        base_dir=str(base),
    )

    if os_user is not None:
        root.chmod(0o700)
        _chown_tree(root, os_user)

    if not (data_dir / "PG_VERSION").is_file():
        if data_dir.exists():
            shutil.rmtree(data_dir)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        _chown_tree(root, os_user)
        cmd = [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            user,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        ]
        proc = _run(cmd, os_user, root)
        pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            _fail("initdb failed", proc, None)
        with open(data_dir / "postgresql.conf", "a") as fh:
            fh.write(_TUNING)

    # If a server from an earlier run is still up on this data dir (stale state), stop it.
    if _pid_alive(_read_postmaster_pid(data_dir)):
        _run(
            [str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "fast", "-w"],
            os_user,
            root,
        )

    last_proc = None
    for attempt in range(PORT_ATTEMPTS):
        info.port = port if port is not None else _free_port()
        port_conf = data_dir / "throwaway_port.conf"
        port_conf.write_text(f"port = {info.port}\n")
        if os_user is not None:
            os.chown(port_conf, os_user.pw_uid, os_user.pw_gid)
        cmd = [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-s",
        ]
        last_proc = _run(cmd, os_user, root, timeout=START_TIMEOUT_S + 30)
        if last_proc.returncode == 0:
            break
        log_text = _tail(log_file, 20)
        port_clash = "could not bind" in log_text or "already in use" in log_text
        if port is not None or not port_clash or attempt == PORT_ATTEMPTS - 1:
            _fail(f"pg_ctl start failed (port {info.port})", last_proc, log_file)
        time.sleep(0.2)

    info.pid = _read_postmaster_pid(data_dir)
    _save_state(info)
    try:
        if not _database_exists(info):
            _psql(info, f'create database "{dbname}"')
    except Exception:
        stop(info, remove_data=False)
        raise
    return info


def _database_exists(info: ServerInfo) -> bool:
    try:
        _psql(info, "select 1", dbname=info.dbname)
    except PostgresServerError:
        return False
    return True


def stop(info: ServerInfo, *, remove_data: bool = True, timeout: float = 30) -> None:
    """Stop the server (fast shutdown); by default also delete its data directory."""
    data_dir = Path(info.data_dir)
    root = Path(info.root_dir or data_dir.parent)
    os_user = None
    if info.os_user and os.geteuid() == 0:
        os_user = pwd.getpwnam(info.os_user)
    pid = _read_postmaster_pid(data_dir) or info.pid
    if _pid_alive(pid):
        pg_ctl = Path(info.bin_dir or find_bin_dir()) / "pg_ctl"
        cmd = [
            str(pg_ctl),
            "stop",
            "-D",
            str(data_dir),
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(timeout)),
        ]
        proc = _run(cmd, os_user, root if root.is_dir() else Path("/"), timeout=timeout + 30)
        if proc.returncode != 0 and _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                _fail(f"could not stop postgres (pid {pid})", proc, info.log_file)
    if remove_data:
        if info.base_dir:
            _state_path(Path(info.base_dir)).unlink(missing_ok=True)
        if root.is_dir():
            shutil.rmtree(root, ignore_errors=True)
    elif info.base_dir and _state_path(Path(info.base_dir)).is_file():
        # keep the state so a later start(base_dir) reuses the data dir (also one in /tmp)
        _save_state(dataclasses.replace(info, pid=0))


@contextlib.contextmanager
def running_server(base_dir: str | os.PathLike, **kwargs) -> Iterator[ServerInfo]:
    """Context manager: start(base_dir, **kwargs), yield ServerInfo, always stop()."""
    info = start(base_dir, **kwargs)
    try:
        yield info
    finally:
        stop(info)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Throwaway PostgreSQL server for tests/CI.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start (init if needed); print export lines")
    p_start.add_argument("--dir", required=True, help="state directory")
    p_start.add_argument("--user", default=DEFAULT_USER)
    p_start.add_argument("--password", default=DEFAULT_PASSWORD)
    p_start.add_argument("--dbname", default=DEFAULT_DBNAME)
    p_start.add_argument("--port", type=int, default=None, help="default: a free port")
    p_stop = sub.add_parser("stop", help="stop the server started from --dir")
    p_stop.add_argument("--dir", required=True)
    p_stop.add_argument("--keep-data", action="store_true", help="do not delete the data dir")
    p_env = sub.add_parser("env", help="print export lines for the running server")
    p_env.add_argument("--dir", required=True)
    p_status = sub.add_parser("status", help="exit 0 if running, 3 if not")
    p_status.add_argument("--dir", required=True)
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            info = start(
                args.dir,
                user=args.user,
                password=args.password,
                dbname=args.dbname,
                port=args.port,
            )
            print(info.shell_exports())
            return 0
        info = load_state(args.dir)
        if args.command == "stop":
            if info is None:
                print(
                    f"postgres_server: no server state in {args.dir}; nothing to stop",
                    file=sys.stderr,
                )
                return 0
            stop(info, remove_data=not args.keep_data)
            return 0
        running = info is not None and is_running(info)
        if args.command == "status":
            print("running" if running else "stopped")
            return 0 if running else 3
        if not running:
            print(f"postgres_server: no running server for {args.dir}", file=sys.stderr)
            return 3
        print(info.shell_exports())
        return 0
    except PostgresServerError as exc:
        print(f"postgres_server: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
