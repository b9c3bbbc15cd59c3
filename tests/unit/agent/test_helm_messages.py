"""What a failed render tells the vendor: where the YAML is wrong, and helm's words redacted."""

from __future__ import annotations

import pytest

from agent.errors import ChartRenderError, HelmError
from agent.kube.helm import parse_manifest, redact
from agent.reconcilers.application import _helm_said

RENDERED = (
    "---\n# Source: alerts/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
    "metadata: {name: a}\n---\n# Source: alerts/crds/matchers.yaml\napiVersion: v1\n"
    "kind: Matcher\nspec:\n  types: [=~, !~]\n"
)


def test_a_yaml_error_names_chart_template_line_column_and_shows_the_line() -> None:
    with pytest.raises(HelmError) as caught:
        parse_manifest(RENDERED, "alerts")
    message = str(caught.value)
    assert "chart 'alerts', template alerts/crds/matchers.yaml, line 4, column" in message
    assert message.endswith("`types: [=~, !~]`")


def test_a_bare_equals_sign_is_the_string_kubernetes_reads() -> None:
    text = "---\n# Source: c/crds/m.yaml\nkind: M\nspec:\n  enum: [=, '!=', =~, '!~']\n"
    assert parse_manifest(text, "c")[0]["spec"]["enum"] == ["=", "!=", "=~", "!~"]


def test_helm_said_is_never_followed_by_nothing() -> None:
    with pytest.raises(HelmError) as caught:
        parse_manifest(RENDERED, "alerts")
    render = ChartRenderError(str(caught.value), caught.value.stderr)
    said = _helm_said(render)
    assert "helm said" not in said
    assert "alerts/crds/matchers.yaml" in said
    assert _helm_said(HelmError("x", "Error: bad values")) == "helm said: Error: bad values"


@pytest.mark.parametrize(
    "secret",
    [
        "https://bob:hunter2@charts.acme.dev/index.yaml",
        "Authorization: Bearer hunter2",
        "password=hunter2",
        'token: "hunter2"',
        "basic hunter2",
    ],
)
def test_helm_stderr_is_redacted(secret: str) -> None:
    text = redact(f"Error: looks like {secret} is not a valid chart repository")
    assert "hunter2" not in text
    assert "<redacted>" in text
