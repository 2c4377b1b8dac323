"""Fuzz the real service through its OpenAPI document with schemathesis, every check on.

    .venv/bin/python benchmarks/fuzz_api.py [--model BUNDLE] [--max-examples 200]

Starts ``creditscore serve`` (uvicorn, 1 worker) on a bundle folder with client and admin
keys configured (not dev mode), then runs ``schemathesis run --checks all`` against it with
the admin key (which is a client key too, so every operation is reached): the coverage
phase (boundary and invalid values of every schema) and the fuzzing phase (positive and
negative examples), deterministic. Without ``--model`` it first trains a quick logistic +
LightGBM model on the bundled German data.

Prints one table, operations x checks (``ok``: the check ran and passed on every case;
``xN``: N cases failed it), and writes the counts to ``benchmarks/results/fuzz_api.json``.
Exits non-zero when any check failed. Target: 0 failures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from serving import Server, free_port, quick_bundle

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "fuzz_api.json"
#: What the contract says that the OpenAPI document cannot (one exception, explained there).
CONFIG = ROOT.parent / "schemathesis.toml"
console = Console()

CLIENT_KEY = "fuzz-client-key"
ADMIN_KEY = "fuzz-admin-key"
#: schemathesis's checks, in its own order, and the short names the table shows.
CHECKS = {
    "not_a_server_error": "no 5xx",
    "status_code_conformance": "status doc'd",
    "content_type_conformance": "content type",
    "response_headers_conformance": "resp. headers",
    "response_schema_conformance": "resp. schema",
    "negative_data_rejection": "bad rejected",
    "positive_data_acceptance": "good accepted",
    "missing_required_header": "req. header",
    "unsupported_method": "405 method",
    "allow_header_conformance": "Allow header",
    "use_after_free": "use after free",
    "ensure_resource_availability": "availability",
    "ignored_auth": "auth enforced",
    "object_level_authorization": "object auth",
}
#: Column labels of the operations (the table must stay readable at 80 columns).
SHORT = {
    "POST /v1/decisions": "dec",
    "POST /v1/decisions/batch": "batch",
    "GET /v1/model": "model",
    "POST /v1/admin/reload": "reload",
    "POST /v1/explanations": "expl",
    "POST /v1/counterfactuals": "cf",
    "POST /v1/fairness": "fair",
    "GET /health": "hlth",
    "GET /ready": "ready",
    "GET /metrics": "metr",
}


def start_service(bundle: Path, home: Path, max_batch: int) -> Server:
    port = free_port()
    code = (
        "from creditscore.serving.app import serve; "
        f"serve(host='127.0.0.1', port={port}, workers=1, model_path={str(bundle)!r})"
    )
    env = {
        "CREDITSCORE_API_KEYS": CLIENT_KEY,
        "CREDITSCORE_ADMIN_KEYS": ADMIN_KEY,
        "CREDITSCORE_PII_KEY": "fuzz-pii-key",
        "CREDITSCORE_HOME": str(home),
        "CREDITSCORE_RELOAD_INTERVAL": "0",
        "CREDITSCORE_MAX_BATCH": str(max_batch),
        "CREDITSCORE_DEV_MODE": "false",
        "PYTHONWARNINGS": "ignore",
    }
    home.mkdir(parents=True, exist_ok=True)
    return Server("creditscore", [sys.executable, "-c", code], port, env, "/ready")


def run_schemathesis(port: int, report: Path, args: argparse.Namespace) -> tuple[int, str]:
    """``schemathesis run --checks all`` against the service; (exit code, its output)."""
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(exe), "--config-file", str(CONFIG), "run", f"http://127.0.0.1:{port}/openapi.json",
        "--checks", "all", "--header", f"X-API-Key: {ADMIN_KEY}",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed),
        "--generation-deterministic", "--workers", "1", "--no-color",
        "--report", "ndjson", "--report-ndjson-path", str(report),
        "--request-timeout", "120",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def _example(info: dict[str, Any], recorder: dict[str, Any], case_id: str) -> str:
    """A failure's message, with the request and response that showed it."""
    lines = [str(info.get("message", ""))]
    exchange = recorder.get("interactions", {}).get(case_id) or {}
    for part in ("request", "response"):
        got = exchange.get(part) or {}
        body = got.get("body") or got.get("content") or {}
        raw = body.get("$base64") if isinstance(body, dict) else None
        text = base64.b64decode(raw).decode("utf-8", "replace") if raw else ""
        status = got.get("status_code", got.get("method", ""))
        lines.append(f"{part} {status} {got.get('uri', '')} {text[:400]}".rstrip())
    return "\n".join(lines)


def tally(report: Path) -> dict[str, Any]:
    """Per operation: cases, and per check how many cases ran it and how many failed it;
    plus every distinct failure (operation, check, title, message)."""
    cases: dict[str, int] = defaultdict(int)
    runs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fails: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: dict[tuple[str, str, str], str] = {}
    for line in report.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        label = recorder["label"]
        for case_id, checks in recorder.get("checks", {}).items():
            cases[label] += 1
            for check in checks:
                runs[label][check["name"]] += 1
                if check["status"] == "failure":
                    fails[label][check["name"]] += 1
                    info = check.get("failure_info", {}).get("failure", {})
                    key = (label, check["name"], str(info.get("title", "")))
                    failures.setdefault(key, _example(info, recorder, case_id))
    return {
        "cases": dict(cases),
        "runs": {k: dict(v) for k, v in runs.items()},
        "failures_by_check": {k: dict(v) for k, v in fails.items()},
        "failures": [
            {"operation": op, "check": check, "title": title, "message": message}
            for (op, check, title), message in sorted(failures.items())
        ],
    }


def warnings_of(output: str) -> list[str]:
    """The WARNINGS section of schemathesis's output (e.g. operations that only ever
    answered 4xx), as lines."""
    lines = output.splitlines()
    starts = [i for i, x in enumerate(lines) if x.strip("= ") == "WARNINGS"]
    if not starts:
        return []
    out = []
    for x in lines[starts[0] + 1 :]:
        if x.startswith("====="):
            break
        if x.strip():
            out.append(x.rstrip())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="bundle folder (default: train a quick one)")
    parser.add_argument("--max-examples", type=int, default=200, help="per operation and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=100, help="CREDITSCORE_MAX_BATCH")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as tmp:
        home = Path(tmp)
        bundle = (args.model or quick_bundle(home / "train")).resolve()
        server = start_service(bundle, home / "service", args.max_batch)
        report = home / "schemathesis.ndjson"
        try:
            server.wait()
            console.print(f"[dim]fuzzing {bundle.name} with schemathesis ...[/dim]")
            start = time.perf_counter()
            code, output = run_schemathesis(server.port, report, args)
            seconds = time.perf_counter() - start
        finally:
            server.stop()
        counts = tally(report) if report.is_file() else {}
        server_log = Path(server.log.name).read_text(errors="replace")
    n_failures = sum(sum(v.values()) for v in counts.get("failures_by_check", {}).values())
    results = {
        "bundle": str(bundle),
        "schemathesis_exit_code": code,
        "seconds": seconds,
        "max_examples": args.max_examples,
        "seed": args.seed,
        "failed_cases": n_failures,
        **counts,
        "warnings": warnings_of(output),
        "internal_errors_in_server_log": server_log.count("internal error on"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))

    operations = [op for op in SHORT if op in results.get("cases", {})]
    operations += sorted(set(results.get("cases", {})) - set(operations))
    table = Table(
        title=f"schemathesis --checks all: {sum(results.get('cases', {}).values()):,} cases, "
        f"{n_failures} failed ({seconds:.0f} s)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0, 0, 1),
    )
    table.add_column("check")
    for op in operations:
        table.add_column(SHORT.get(op, op), justify="right")
    table.add_row("cases", *(f"{results['cases'][op]:,}" for op in operations), end_section=True)
    runs, fails = results.get("runs", {}), results.get("failures_by_check", {})
    for check, label in CHECKS.items():
        cells = []
        for op in operations:
            ran = runs.get(op, {}).get(check, 0)
            failed = fails.get(op, {}).get(check, 0)
            cells.append("-" if not ran else f"[red]x{failed}[/red]" if failed else "ok")
        table.add_row(label, *cells)
    console.print(table)
    console.print(
        "ok: passed on every case; xN: N cases failed; -: not run.  "
        + ", ".join(f"{SHORT[op]} = {op}" for op in operations if op in SHORT),
        highlight=False,
    )
    for f in results.get("failures", []):
        console.print(f"[red]{f['operation']}[/red] {f['check']}: {f['title']}")
        for line in f["message"].splitlines():
            console.print(f"  {line}", markup=False, highlight=False)
    for line in results["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {line.strip()}")
    if results["internal_errors_in_server_log"]:
        console.print(f"[red]{results['internal_errors_in_server_log']} internal errors[/red]")
    if code != 0 and not results.get("failures"):
        console.print(output[-3000:])
    console.print(f"JSON: {RESULTS}")
    sys.exit(0 if code == 0 and n_failures == 0 else 1)


if __name__ == "__main__":
    main()
