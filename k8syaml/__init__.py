"""YAML read exactly as Kubernetes reads it, and written so that it reads back the same.

The only package that imports a YAML library. `load_all` reads a stream of manifests as
`kubectl apply -f` does, `load` reads one file (values, Chart.yaml, a kubeconfig) as Helm and
client-go do, and both return JSON values: dicts with string keys, lists, strings, ints,
floats, booleans and None. Text Kubernetes cannot convert raises `YamlError`, which carries
the line and column. `dump` writes YAML that these readers (and kubectl) read back unchanged.
"""

from __future__ import annotations

from k8syaml.errors import YamlError
from k8syaml.reader import C_PARSER, load, load_all
from k8syaml.rendered import describe as describe_rendered
from k8syaml.writer import dump

__all__ = ["C_PARSER", "YamlError", "describe_rendered", "dump", "load", "load_all"]
