"""Helm post-renderer: every image in a chart's rendered manifests relocated, or refused by name.

Choice (issue 11): relocation from what is rendered is done by a Helm post-renderer, not only
by rewriting values. Values cover charts whose image is a value; a chart that computes its
image in a template (a null default completed from `appVersion`) is only visible after
rendering. Helm runs the post-renderer on `helm template` and on `helm upgrade --install` alike
(test hooks included), so what is checked is exactly what is installed, and the release's
stored manifest (read back for drift repair) holds the relocated images too.

Run by helm as a Helm 4 `postrenderer/v1` plugin (`plugin_dir` writes it): the rendered stream
on stdin, the relocated stream on stdout (JSON documents: JSON is YAML). Its one argument is
a JSON file mapping each bundle image reference (by tag and by digest) to its relocated
`<registry>/<path>@<digest>`. A container image that is neither a key nor already a target is
refused: helm fails, and the reason, naming the images, is left in `<mapping>.refused` for the
agent's message (helm does not pass a post-renderer's stderr on).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import k8syaml

PLUGIN = "outpost-relocate"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


class Unrelocated(Exception):
    """Images rendered by the chart that the bundle does not carry."""


def relocate_stream(text: str, mapping: Mapping[str, str]) -> str:
    """The rendered manifests with every container image relocated.

    Raises:
        Unrelocated: some images are not in `mapping` (the message names them and where).
    """
    docs = [d for d in k8syaml.load_all(text) if isinstance(d, dict)]
    targets = set(mapping.values())
    missing: list[str] = []
    for doc in docs:
        for container in _containers(doc):
            image = str(container.get("image") or "")
            if image in mapping:
                container["image"] = mapping[image]
            elif image not in targets:
                meta = doc.get("metadata") or {}
                missing.append(f"'{image}' ({doc.get('kind')} {meta.get('name')})")
    if missing:
        raise Unrelocated(
            f"the chart renders images the bundle does not carry, so they cannot be relocated: "
            f"{', '.join(sorted(set(missing)))}; add them to the bundle (`bundle build --image`)"
        )
    return "".join(f"---\n{json.dumps(doc)}\n" for doc in docs)


def _containers(node: Any) -> Iterator[dict[str, Any]]:
    """Every container of every Pod template in `node`, at any depth (CronJob included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONTAINER_LISTS and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


def plugin_dir(root: Path) -> Path:
    """Write the Helm 4 plugin that runs this module with this interpreter; returns the
    directory to use as HELM_PLUGINS."""
    plugin = root / PLUGIN
    plugin.mkdir(parents=True, exist_ok=True, mode=0o700)
    spec = {
        "apiVersion": "v1",
        "type": "postrenderer/v1",
        "name": PLUGIN,
        "version": "1.0.0",
        "runtime": "subprocess",
        "runtimeConfig": {
            "platformCommand": [{"command": sys.executable, "args": ["-m", __name__]}]
        },
    }
    (plugin / "plugin.yaml").write_text(json.dumps(spec, indent=1))
    return root


def main(argv: list[str]) -> int:
    """helm's entry point: `python -m agent.kube.postrender MAPPING.json` (stdin → stdout)."""
    mapping_file = Path(argv[1])
    mapping = json.loads(mapping_file.read_text())
    try:
        sys.stdout.write(relocate_stream(sys.stdin.read(), mapping))
    except (Unrelocated, k8syaml.YamlError) as exc:
        Path(f"{mapping_file}.refused").write_text(str(exc))
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
