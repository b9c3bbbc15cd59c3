"""Token scopes and lifetimes: push asked for on the repository itself only; refresh in time."""

from __future__ import annotations

from airgap.auth import refresh_time, with_push


def test_push_is_added_for_the_repository_only_not_for_a_mount_source() -> None:
    scope = "repository:team/a/b:pull repository:team/src:pull"
    assert with_push(scope, "team/a/b") == "repository:team/a/b:pull,push repository:team/src:pull"
    assert with_push("repository:x:pull,push", "x") == "repository:x:pull,push"
    assert with_push("registry:catalog:*", "x") == "registry:catalog:*"


def test_refresh_comes_30_s_early_or_halfway_for_short_tokens() -> None:
    assert refresh_time(100.0, 300.0) == 370.0
    assert refresh_time(100.0, 4.0) == 102.0
