"""Processes for the replica tests: a throwaway PostgreSQL server, and bot
replicas in processes of their own (`python -m tests.bot.processes serve`),
each a RunningBot with a FakeAnswerer. Shared with benchmarks/bot_load.py."""
import argparse
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List

# The repository root: `python -m tests.bot.processes` runs from there.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresUnavailable(RuntimeError):
    """Why no PostgreSQL server could be started here (the test skips with it)."""


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary directory, listening on
    127.0.0.1 only, with trust authentication for user `spanqa`. Uses Debian's
    `postgresql` package (`initdb` and `pg_ctl` from /usr/lib/postgresql/*/bin);
    as root it runs as the `postgres` user, since PostgreSQL refuses root."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
        pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
        if not pg_ctl:
            raise PostgresUnavailable("PostgreSQL is not installed: `apt-get install -y postgresql` provides initdb and pg_ctl.")
        self.bin = os.path.dirname(pg_ctl)
        self.user_kwargs: Dict[str, Any] = {}
        self.dir = tempfile.mkdtemp(prefix="spanqa-pg-")
        if os.geteuid() == 0:
            import pwd

            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no `postgres` user to run PostgreSQL as") from None
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.user_kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = f"postgresql://spanqa@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", self.data, "-U", "spanqa", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "start")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [os.path.join(self.bin, program), *args], capture_output=True, text=True, cwd=self.dir, **self.user_kwargs
        )
        if done.returncode != 0:
            log = os.path.join(self.dir, "log")
            tail = open(log).read()[-2000:] if os.path.exists(log) else ""
            self.close()
            raise PostgresUnavailable(f"{program} failed ({done.returncode}): {done.stderr.strip()[-800:]} {tail}")

    def close(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(
                [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                capture_output=True, cwd=self.dir, **self.user_kwargs,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


class ReplicaProcess:
    """`python -m tests.bot.processes serve`: the bot with a FakeAnswerer in a
    process of its own, on 127.0.0.1:`port`, sharing `database` with others."""

    def __init__(self, api_url: str, database: str, slow_seconds: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        pythonpath = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bot.processes", "serve", "--api", api_url, "--database", database,
             "--port", str(self.port), "--slow", str(slow_seconds)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": pythonpath},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def wait_until_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited with {self.process.returncode}: {self.process.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"replica did not listen on port {self.port} within {timeout}s")

    def close(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stdout.read() if self.process.stdout else ""


def serve(argv: List[str]) -> None:
    """What a `ReplicaProcess` runs: the bot with a FakeAnswerer until SIGTERM."""
    parser = argparse.ArgumentParser(description="Serve the bot with a fake answerer (a replica in tests).")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--api", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slow", type=float, default=0.0)
    args = parser.parse_args(argv)
    from tests.bot.fakes import FakeAnswerer
    from tests.bot.running import RunningBot

    bot = RunningBot(args.api, FakeAnswerer(slow_seconds=args.slow), args.database, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        bot.close()


if __name__ == "__main__":
    serve(sys.argv[1:])
