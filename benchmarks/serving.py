"""Serving benchmark: our API vs ``mlflow models serve`` on the same model, side by side.

    .venv/bin/python benchmarks/serving.py [--model BUNDLE] [--requests 2000] [--seconds 5]

Starts our service (uvicorn, 1 worker, dev mode, decision log on SQLite in a temporary
folder) and, when ``creditscore.pyfunc`` is installed, ``mlflow models serve`` (1 worker,
local environment) on the same bundle saved as an MLflow pyfunc model, each on a free
loopback port. For both it measures, over keep-alive HTTP/1.1 connections:

- p50 / p99 of ``--requests`` sequential single-application requests (after a warm-up);
- throughput with ``--clients`` (8) concurrent clients, each on its own connection;
- the latency of one batch of ``--batch`` (1000) applications (median of 10);

plus the in-process ``Scorer.decide`` latency. Without ``--model`` it first trains a quick
logistic + LightGBM model on the bundled German data; the targets are for the demo
champion (``creditscore train``, then ``--model artifacts/bundles/german-credit-...``).
Prints one table and writes JSON to ``benchmarks/results/serving.json``. Targets: the
default Decision (reason codes on declines and referrals) over HTTP p50 <=
1.0 ms, p99 <= 3 ms and >= 8x faster than ``mlflow models serve``; in process, a decision
with 4 reason codes <= 0.05 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "serving.json"
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quick_bundle(folder: Path) -> Path:
    from creditscore.config import german_config
    from creditscore.training.train import train

    cfg = german_config()
    cfg.base_dir = folder
    cfg.candidates = ["logistic", "lightgbm"]
    cfg.budget = cfg.budget.model_copy(update={"trials": 5, "seconds": 30, "cv_folds": 3})
    console.print("[dim]training a quick logistic + LightGBM model on German ...[/dim]")
    return train(cfg).bundle_path


def sample_rows(bundle_path: Path, n: int) -> list[dict[str, Any]]:
    from creditscore.bundle import ModelBundle
    from creditscore.datasets import load_german

    bundle = ModelBundle.load(bundle_path)
    frame = load_german()[bundle.features]
    return frame.sample(n, replace=True, random_state=0).to_dict(orient="records")  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- servers
class Server:
    def __init__(
        self, name: str, cmd: list[str], port: int, env: dict[str, str], ready: str
    ) -> None:
        self.name, self.port, self.ready = name, port, ready
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=self.log, stderr=self.log
        )

    def wait(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; log: {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.ready)
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout}s; log: {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_ours(bundle: Path, home: Path) -> Server:
    port = free_port()
    code = (
        "from creditscore.serving.app import serve; "
        f"serve(host='127.0.0.1', port={port}, workers=1, model_path={str(bundle)!r})"
    )
    env = {
        "CREDITSCORE_DEV_MODE": "true",
        "CREDITSCORE_HOME": str(home),
        "PYTHONWARNINGS": "ignore",
    }
    return Server("creditscore", [sys.executable, "-c", code], port, env, "/ready")


def start_mlflow(bundle: Path, home: Path) -> Server | str:
    """``mlflow models serve`` on the bundle as a pyfunc model, or why it cannot run."""
    try:
        from creditscore.pyfunc import save_pyfunc
    except ImportError as exc:
        return f"creditscore.pyfunc not available ({exc})"
    import mlflow.models

    rows = sample_rows(bundle, 2)
    import pandas as pd

    example = pd.DataFrame(rows)
    model_dir = save_pyfunc(
        bundle,
        home / "pyfunc",
        signature=mlflow.models.infer_signature(example),
        input_example=example,
    )
    port = free_port()
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    cmd = [mlflow_bin, "models", "serve", "-m", str(model_dir), "-p", str(port), "-h", "127.0.0.1",
           "-w", "1", "--env-manager", "local"]  # fmt: skip
    env = {  # mlflow runs `uvicorn` from PATH
        "PYTHONWARNINGS": "ignore",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return Server("mlflow", cmd, port, env, "/ping")


# --------------------------------------------------------------------------- clients
class Client:
    """One keep-alive connection; ``post`` returns the status and the elapsed seconds."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive"}

    def post(self, path: str, body: bytes) -> tuple[int, float, bytes]:
        start = time.perf_counter()
        self.conn.request("POST", path, body, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, time.perf_counter() - start, data


def encode(kind: str, rows: list[dict[str, Any]]) -> bytes:
    if kind == "creditscore":
        payload: Any = rows[0] if len(rows) == 1 else {"applications": rows}
    else:
        payload = {"dataframe_records": rows}
    return json.dumps(payload).encode()


def measure(
    kind: str, port: int, rows: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    single = "/v1/decisions" if kind == "creditscore" else "/invocations"
    batch = "/v1/decisions/batch" if kind == "creditscore" else "/invocations"
    bodies = [encode(kind, [r]) for r in rows]
    client = Client(port)
    status, _, data = client.post(single, bodies[0])
    if status != 200:
        raise RuntimeError(f"{kind}: {status} {data[:300]!r}")
    for body in bodies[:200]:  # warm-up
        client.post(single, body)
    times = []
    for i in range(args.requests):
        status, elapsed, _ = client.post(single, bodies[i % len(bodies)])
        assert status == 200, status
        times.append(elapsed)
    ms = np.array(times) * 1000
    variants: dict[str, float] = {}
    if kind == "creditscore":  # the same requests without and with reason codes on every one
        for tag, query in (("no_reasons", "?explain=false"), ("reasons", "?explain=true")):
            vt = []
            for i in range(args.requests):
                status, elapsed, _ = client.post(single + query, bodies[i % len(bodies)])
                assert status == 200, status
                vt.append(elapsed)
            vms = np.array(vt) * 1000
            variants[f"p50_ms_{tag}"] = float(np.percentile(vms, 50))
            variants[f"p99_ms_{tag}"] = float(np.percentile(vms, 99))

    done = [0] * args.clients
    failures = [0] * args.clients
    stop = threading.Event()

    def worker(k: int) -> None:
        c = Client(port)
        i = k
        while not stop.is_set():
            status, _, _ = c.post(single, bodies[i % len(bodies)])
            done[k] += 1
            failures[k] += status != 200
            i += args.clients

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    throughput = sum(done) / (time.perf_counter() - t0)

    big = encode(kind, (rows * (args.batch // len(rows) + 1))[: args.batch])
    client = Client(port)  # the first one may have idled past the server's keep-alive
    client.post(batch, big)
    batch_ms = []
    for _ in range(10):
        status, elapsed, _ = client.post(batch, big)
        assert status == 200, status
        batch_ms.append(elapsed * 1000)
    if kind == "creditscore":
        nb = []
        for _ in range(10):
            status, elapsed, _ = client.post(batch + "?explain=false", big)
            assert status == 200, status
            nb.append(elapsed * 1000)
        variants["batch_ms_no_reasons"] = statistics.median(nb)
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "requests": args.requests,
        "throughput_rps": throughput,
        "clients": args.clients,
        "failed_concurrent": sum(failures),
        "batch_rows": args.batch,
        "batch_ms": statistics.median(batch_ms),
        **variants,
    }


def in_process(bundle_path: Path, rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """``Scorer.decide`` latency: no reason codes, the default (codes for declines and
    referrals) and codes on every decision."""
    from creditscore.bundle import ModelBundle
    from creditscore.scorer import Scorer

    scorer = Scorer(ModelBundle.load(bundle_path))
    out: dict[str, Any] = {
        "fast_path": scorer.fast_path,
        "explain_method": scorer.explainer.method if scorer.explainer else None,
        "share_not_approved": float(
            np.mean([scorer.decide(r, explain=False).decision != "approve" for r in rows])
        ),
    }
    for tag, explain in (("no_reasons", False), ("default", None), ("reasons", True)):
        for r in rows[:200]:
            scorer.decide(r, explain=explain)
        times = []
        for i in range(n):
            start = time.perf_counter()
            scorer.decide(rows[i % len(rows)], explain=explain)
            times.append(time.perf_counter() - start)
        ms = np.array(times) * 1000
        out[tag] = {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="bundle folder (default: train a quick one)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="concurrent phase length")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-mlflow", action="store_true", help="skip mlflow models serve")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        home = Path(tmp)
        bundle = (args.model or quick_bundle(home / "train")).resolve()
        rows = sample_rows(bundle, 500)
        results: dict[str, Any] = {"bundle": str(bundle), "notes": []}
        console.print(f"[dim]model: {bundle}[/dim]")
        results["in_process"] = in_process(bundle, rows, args.requests)

        servers: list[tuple[str, Server]] = [("creditscore", start_ours(bundle, home / "ours"))]
        if args.no_mlflow:
            results["notes"].append("mlflow models serve: skipped (--no-mlflow)")
        else:
            started = start_mlflow(bundle, home)
            if isinstance(started, str):
                results["notes"].append(f"mlflow models serve: skipped: {started}")
            else:
                servers.append(("mlflow", started))
        try:
            for _, server in servers:
                server.wait()
            for name, server in servers:  # one at a time: they share 2 cores
                console.print(f"[dim]measuring {name} ...[/dim]")
                results[name] = measure(name, server.port, rows, args)
        finally:
            for _, server in servers:
                server.stop()

    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))

    table = Table(title="Serving: one applicant and batches over loopback HTTP (1 worker each)")
    table.add_column("measure")
    names = [n for n in ("creditscore", "mlflow") if n in results]
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("target", justify="right")
    rowspec = [
        ("single p50 (ms), default: codes on declines/referrals", "p50_ms", "<= 1.0"),
        ("single p99 (ms), default", "p99_ms", "<= 3"),
        ("single p50 / p99 (ms), no reason codes", "p50_ms_no_reasons", ""),
        ("single p50 / p99 (ms), reason codes on every decision", "p50_ms_reasons", "p50 <= 3"),
        (f"throughput, {args.clients} clients (req/s)", "throughput_rps", ""),
        (f"batch of {args.batch} (ms), default", "batch_ms", ""),
        (f"batch of {args.batch} (ms), no reason codes", "batch_ms_no_reasons", ""),
    ]

    def cell(name: str, key: str) -> str:
        r = results[name]
        if key not in r:
            return "-"
        if key.startswith("p50_ms_"):
            return f"{r[key]:.2f} / {r[key.replace('p50', 'p99')]:.2f}"
        return f"{r[key]:,.2f}"

    for label, key, target in rowspec:
        table.add_row(label, *(cell(n, key) for n in names), target)
    if "mlflow" in results:
        ours, theirs = results["creditscore"], results["mlflow"]
        speedup = {k: theirs[k] / ours[k] for k in ("p50_ms", "p99_ms")}
        results["speedup_vs_mlflow"] = speedup
        table.add_row(
            "mlflow p50 / ours p50 (p99 / p99), default Decision",
            f"{speedup['p50_ms']:.1f}x ({speedup['p99_ms']:.1f}x)",
            "1x",
            ">= 8x",
        )
        RESULTS.write_text(json.dumps(results, indent=2))
    ip = results["in_process"]
    for tag, label, target in (
        ("no_reasons", "no reason codes", ""),
        ("default", "default", ""),
        ("reasons", "4 reason codes on every decision", "<= 0.05"),
    ):
        table.add_row(
            f"in-process Scorer.decide p50 / p99 (ms), {label}",
            f"{ip[tag]['p50_ms']:.3f} / {ip[tag]['p99_ms']:.3f}",
            *([""] * (len(names) - 1)),
            target,
        )
    console.print(table)
    console.print(
        f"Scorer: {ip['fast_path']} path, reason codes by {ip['explain_method']}; "
        f"{ip['share_not_approved']:.0%} of the sampled applications are not approved "
        "(so they get reason codes by default)."
    )
    for note in results["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"JSON: {RESULTS}")


if __name__ == "__main__":
    main()
