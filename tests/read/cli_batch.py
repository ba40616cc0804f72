"""Running ``hive-cli`` from the read tests.

As a script (``python cli_batch.py JOBS.json RESULTS.json``, JOBS a JSON list of argv lists) it runs
every invocation in this one fresh process through click's test runner, which separates stdout and
stderr and keeps any uncaught exception's traceback, and writes the results as JSON: a Python
start-up with the product's imports costs about a second, so dozens of commands share one.
``hive_cli`` runs the real entry point, ``python -m hive_cli``, one process per call.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent.parent


class BatchRun:
    """A batch started in the background (it runs while the caller does other work); ``results()`` waits."""

    def __init__(self, jobs: list[list[str]], workdir: Path):
        stem = workdir / f"cli_batch_{os.getpid()}_{id(self)}"
        self.jobs_path, self.path, self.log_path = (Path(f"{stem}.{ext}") for ext in ("jobs.json", "json", "log"))
        self.jobs_path.write_text(json.dumps(jobs), encoding="utf-8")
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(self.jobs_path), str(self.path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
            )

    def results(self, timeout: float = 600) -> list[dict]:
        """Per job, in order: argv, code (exit code), stdout, stderr, traceback (None when clean), seconds."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            import signal

            os.killpg(self.proc.pid, signal.SIGKILL)  # our own child's group, by its id
            self.proc.wait()
            raise AssertionError(f"CLI batch still running after {timeout:g} s: {self.log_path.read_text()[-3000:]}")
        assert self.proc.returncode == 0, self.log_path.read_text()[-3000:]
        return json.loads(self.path.read_text(encoding="utf-8"))


def run_batch(jobs: list[list[str]], workdir: Path) -> list[dict]:
    return BatchRun(jobs, workdir).results()


def start(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """A process in its own session, so ``finish`` can stop it with its children (a browser...)."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd or REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, start_new_session=True)


def hive_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m hive_cli ARGS`` (the real entry point); ``finish`` waits for it."""
    return start([sys.executable, "-m", "hive_cli", *args], env=env)


def finish(proc: subprocess.Popen, timeout: float = 180) -> subprocess.CompletedProcess:
    """Wait for a process started here; past ``timeout`` stop it (and its process group) and say so."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        import signal

        os.killpg(proc.pid, signal.SIGKILL)  # our own child's group, by its id
        out, err = proc.communicate()
        err = f"{err}\n(test harness: stopped after {timeout:g} s)"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _main(jobs_path: str, result_path: str) -> None:
    import time
    import traceback

    from click.testing import CliRunner

    from hive_cli.main import cli

    jobs = json.loads(Path(jobs_path).read_text(encoding="utf-8"))
    session = None
    if any(arg.lower().endswith(".png") for argv in jobs for arg in argv):
        # One Chromium for every PNG of the batch: the product's own session, entered here around all
        # commands (each command's session nests inside it), so the browser starts once per batch.
        from charts.output import png_session

        session = png_session()
        session.__enter__()
    runner = CliRunner()
    results = []

    for argv in jobs:
        started = time.monotonic()
        outcome = runner.invoke(cli, argv, catch_exceptions=True, prog_name="hive-cli")
        trace = None
        if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
            trace = "".join(traceback.format_exception(*outcome.exc_info))
        results.append({"argv": argv, "code": outcome.exit_code, "stdout": outcome.stdout,
                        "stderr": outcome.stderr, "traceback": trace,
                        "seconds": round(time.monotonic() - started, 3)})
    Path(result_path).write_text(json.dumps(results), encoding="utf-8")
    import threading

    threading.Timer(60, os._exit, (0,)).start()  # a watchdog in case the browser does not stop
    try:
        if session is not None:
            session.__exit__(None, None, None)
    finally:
        # The results are on disk; leave at once, never hanging in a browser library's exit handlers.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
