"""How long `make run` takes to serve again on an installed checkout with its database already loaded.

Runs `make run` once on a fresh instance folder (migrate, load the demo), stops it, then times three restarts
from the command to the first answer from /healthz. Prints the median beside the machine's load average.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
RESTARTS = 3


def serve_once(instance: Path, port: int, limit: float = 600.0) -> float:
    """Start `make run`, wait for /healthz, stop it; the seconds until it answered."""
    env = {**os.environ, "CONSULT_INSTANCE_PATH": str(instance)}
    began = time.perf_counter()
    process = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - began < limit:
            if process.poll() is not None:
                raise RuntimeError(f"make run exited with {process.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - began
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("make run did not answer in time")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    """Print the first start and the median restart time."""
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        port = free_port()
        first = serve_once(instance, port)
        times = [serve_once(instance, free_port()) for _ in range(RESTARTS)]
    load = os.getloadavg()[0]
    print(f"restart: make run serves again in {statistics.median(times):.1f} s (median of {RESTARTS}; "
          f"first start with the demo load {first:.0f} s; load average {load:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
