"""Benchmark: Outpost's YAML reader vs `kubectl create --dry-run=client -o json` on one stream.

Generates a rendered stream like a big operator chart's CRDs (ten CustomResourceDefinitions of
13 KB to 830 KB, 5 MB in all by default, each behind Helm's `---` / `# Source:` lines), then:
  1. reads it with `k8syaml.load_all`: best wall time of --rounds, and the peak memory the read
     allocates beyond the text (tracemalloc, in a separate round so it does not slow the timing);
  2. with --kubeconfig (or KUBECONFIG): `kubectl create --dry-run=client -o json -f FILE`:
     best wall time and the child's peak RSS; also PyYAML's own C loader for reference.
Prints the figures side by side and the ratios. Targets: ours/kubectl time ≤ 1.0; extra
memory ≤ 3× the text.

Usage: .venv/bin/python bench/yaml_read.py [--size 5M] [--rounds 3] [--kubeconfig FILE]
                                            [--kubectl PATH] [--keep FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import k8syaml  # noqa: E402
from k8syaml import baseline  # noqa: E402

MB = 1_000_000
# Relative sizes of the ten CRDs: 13 KB to 830 KB when the stream is 5 MB.
SHARES = (13, 110, 250, 400, 520, 610, 690, 740, 800, 830)
WORDS = (
    *("the", "of", "a", "field", "that", "is", "to", "for", "in", "and"),
    *("when", "this", "value", "be", "set", "pod", "spec", "name"),
)
TYPES = ("string", "integer", "boolean", "number")


def parse_size(text: str) -> int:
    """`5M`, `200K` or a byte count."""
    units = {"K": 1000, "M": MB}
    text = text.strip().upper().removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


def crd(index: int, size: int, rng: random.Random) -> str:
    """A CRD document of about `size` bytes: nested properties with descriptions and enums."""
    plural = f"widgets{index}"
    head = [
        "apiVersion: apiextensions.k8s.io/v1",
        "kind: CustomResourceDefinition",
        "metadata:",
        f"  name: {plural}.bench.example.com",
        "spec:",
        "  group: bench.example.com",
        f"  names: {{kind: Widget{index}, plural: {plural}, singular: widget{index}}}",
        "  scope: Namespaced",
        "  versions:",
        "  - name: v1",
        "    served: true",
        "    storage: true",
        "    schema:",
        "      openAPIV3Schema:",
        "        type: object",
        "        properties:",
    ]
    body: list[str] = []
    used = sum(len(line) + 1 for line in head)
    field = 0
    while used < size:
        lines = _property(rng, field, 10, depth=rng.randint(0, 3))
        body += lines
        used += sum(len(line) + 1 for line in lines)
        field += 1
    return "\n".join(head + body) + "\n"


def _property(rng: random.Random, field: int, indent: int, depth: int) -> list[str]:
    pad = " " * indent
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
    lines = [f"{pad}field{field}:", f"{pad}  description: {words.capitalize()}."]
    if depth == 0:
        kind = rng.choice(TYPES)
        lines.append(f"{pad}  type: {kind}")
        if kind == "string" and rng.random() < 0.3:
            lines += [f"{pad}  enum:", f'{pad}  - "="', f'{pad}  - "!="', f"{pad}  - In"]
        if kind == "integer":
            lines += [f"{pad}  format: int32", f"{pad}  minimum: 0", f"{pad}  maximum: 65535"]
        return lines
    lines += [f"{pad}  type: object", f"{pad}  properties:"]
    for child in range(rng.randint(2, 5)):
        lines += _property(rng, child, indent + 4, depth - 1)
    return lines


def stream(size: int, seed: int = 20) -> str:
    """A rendered stream of ten CRDs whose sizes follow SHARES, `size` bytes in all."""
    rng = random.Random(seed)
    total = sum(SHARES)
    parts = []
    for index, share in enumerate(SHARES):
        doc = crd(index, size * share // total, rng)
        parts.append(f"---\n# Source: bench/crds/widget{index}.yaml\n{doc}")
    return "".join(parts)


def best_time(rounds: int, run: Callable[[], Any]) -> float:
    """The best wall time of `rounds` runs."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def peak_extra(run: Callable[[], Any]) -> int:
    """Peak bytes allocated by `run` beyond what was allocated before it (its result included)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def kubectl_run(kubectl: str, kubeconfig: str, path: Path) -> tuple[float, int]:
    """One `kubectl create --dry-run=client -o json`: wall time and peak RSS in bytes."""
    argv = [kubectl, "create", "--dry-run=client", "-o", "json", "-f", str(path)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env={**os.environ, "KUBECONFIG": kubeconfig},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"kubectl failed: {stderr.strip()}")
    return elapsed, usage.ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; 0 on success."""
    args = _options(argv)
    text = stream(parse_size(args.size))
    size = len(text.encode())
    ours = best_time(args.rounds, lambda: k8syaml.load_all(text))
    extra = peak_extra(lambda: k8syaml.load_all(text))
    c_parser = "C parser" if k8syaml.C_PARSER else "pure Python parser"
    print(f"stream: {size / MB:.2f} MB, ten CRDs, {text.count(chr(10))} lines")
    print(f"outpost k8syaml ({c_parser}): {ours:.3f} s, extra memory {extra / MB:.1f} MB")
    pyyaml = best_time(args.rounds, lambda: baseline.pyyaml_load_all(text))
    print(f"PyYAML safe_load_all (reference): {pyyaml:.3f} s")
    print(f"ratio extra memory / text size: {extra / size:.2f} (target <= 3)")
    if args.kubeconfig and args.kubectl:
        _against_kubectl(args, text, ours, extra)
    else:
        print("kubectl: not measured (give --kubeconfig and --kubectl, or set KUBECONFIG)")
    return 0


def _against_kubectl(args: argparse.Namespace, text: str, ours: float, extra: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "stream.yaml"
        path.write_text(text)
        runs = [kubectl_run(args.kubectl, args.kubeconfig, path) for _ in range(args.rounds)]
    seconds = min(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    print(f"kubectl create --dry-run=client -o json: {seconds:.3f} s, peak RSS {rss / MB:.1f} MB")
    print(f"ratio time ours/kubectl: {ours / seconds:.2f} (target <= 1.0)")
    print(f"ratio memory ours(extra)/kubectl(RSS): {extra / rss:.2f}")


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="5M")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    parser.add_argument("--kubectl", default=os.environ.get("OUTPOST_KUBECTL", ""))
    parser.add_argument("--keep", default="", help="write the stream to this file and keep it")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
