"""The agent image definition (Containerfile at the repository root), checked without an engine:
known instructions only, bases pinned by digest, numeric non-root USER, exec-form ENTRYPOINT,
helm v4 built from its Go module, and an entrypoint that runs under this repository's Python.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.chart.chart import ROOT
from tests.unit.chart.containerfile import (
    ContainerfileError,
    Instruction,
    arg_defaults,
    expand,
    parse,
)

CONTAINERFILE = ROOT / "Containerfile"
DIGEST = re.compile(r"^[\w./:-]+@sha256:[0-9a-f]{64}$")
DEPLOYMENT = ROOT / "charts" / "outpost-agent" / "templates" / "deployment.yaml"


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(CONTAINERFILE.read_text())


def test_parser_rejects_unknown_instructions_and_bad_exec_form() -> None:
    with pytest.raises(ContainerfileError, match="unknown instruction 'FRUM'"):
        parse("FRUM python\n")
    with pytest.raises(ContainerfileError, match="past the end"):
        parse("RUN true \\\n")
    (entry,) = parse('ENTRYPOINT ["a", 1]\n')
    with pytest.raises(ContainerfileError, match="list of strings"):
        entry.exec_form()


def test_every_base_is_pinned_by_digest(instructions: list[Instruction]) -> None:
    defaults = arg_defaults(instructions)
    stages = {
        ins.args.split(" AS ")[1]
        for ins in instructions
        if ins.keyword == "FROM" and " AS " in ins.args
    }
    for ins in instructions:
        if ins.keyword == "FROM":
            image = expand(ins.args.split(" AS ")[0], defaults)
            assert image in stages or DIGEST.match(image), f"line {ins.line}: {image} not pinned"
    assert defaults["PYTHON_IMAGE"].startswith("python:3.11-slim@sha256:")


def test_multi_stage_with_helm_from_its_go_module(instructions: list[Instruction]) -> None:
    froms = [ins for ins in instructions if ins.keyword == "FROM"]
    assert len(froms) >= 3
    runs = " ".join(ins.args for ins in instructions if ins.keyword in ("RUN", "ENV"))
    assert "go install" in runs
    assert "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}" in runs
    assert "-X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}" in runs
    assert "CGO_ENABLED=0" in runs
    assert "-trimpath" in runs
    assert arg_defaults(instructions)["HELM_VERSION"] == "v4.3.1"


def test_runs_as_numeric_non_root_user_with_exec_entrypoint(
    instructions: list[Instruction],
) -> None:
    final = instructions[max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM") :]
    (user,) = [ins for ins in final if ins.keyword == "USER"]
    uid = user.args.split(":")[0]
    assert uid.isdigit()
    assert int(uid) == 65532
    (entry,) = [ins for ins in final if ins.keyword == "ENTRYPOINT"]
    assert entry.exec_form() == ["outpost", "agent", "run"]


def test_entrypoint_runs_under_this_python() -> None:
    outpost = Path(sys.executable).parent / "outpost"
    proc = subprocess.run(
        [str(outpost), "agent", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if "No such command 'run'" in proc.stderr:
        pytest.skip("`outpost agent run` is not implemented yet (agent/commands.py)")
    assert proc.returncode == 0, proc.stderr
    # Every flag the chart's Deployment passes, and the one the SA test passes, must exist.
    flags = {*re.findall(r"^\s+- (--[a-z-]+)", DEPLOYMENT.read_text(), re.M), "--kubeconfig"}
    assert "--namespace" in flags
    missing = sorted(flag for flag in flags if flag not in proc.stdout)
    assert not missing, f"the chart passes flags `outpost agent run` lacks: {missing}"


def test_the_image_carries_no_hub_code(instructions: list[Instruction]) -> None:
    """The hub is vendor-side: not copied into the agent's image, and the CLI runs without it."""
    copied = {ins.args.split()[0] for ins in instructions if ins.keyword == "COPY"}
    assert "hub" not in copied
    assert {"agent", "wire", "bundle", "outpost"} <= copied
    block = (
        "import sys\n"
        "class NoHub:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('hub', 'uvicorn', 'psycopg'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, NoHub())\n"
        "from outpost.cli import main\n"
        "main(['agent', 'run', '--help'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "--namespace" in proc.stdout
