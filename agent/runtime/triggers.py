"""Edge and level triggers: watch events and the periodic resync become queue keys.

Keys are "Kind/name" of our cluster-scoped kinds. A child's event maps to its owner through our
labels, its controller ownerReference or, for Helm-made objects, the release it belongs to. Events
caused by our own writes (same resourceVersion as our apply returned) are dropped, so applying a
tenant does not make it run again for each child. No I/O: the state is a few small indexes
(names only, never object bodies) so memory stays flat at thousands of objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent import api

OWNED_KINDS = ("DataPlane", "Tenant", "Application", "Bundle", "License")
CHILD_DELAY = 0.2
"""Seconds to let a burst of child events collapse into one reconcile of the owner."""
SUMMARY_DELAY = 2.0
"""The DataPlane's counts are refreshed at most this often while tenants change."""
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
BUNDLE_ANNOTATION = "outpost.dev/bundle"
"""Set by the Bundle reconciler on every object it applies (the Bundle's name)."""

Enqueue = Callable[[str, float], None]


def key(kind: str, name: str) -> str:
    """The work queue key of an object."""
    return f"{kind}/{name}"


def owner_key(body: dict[str, Any], releases: dict[tuple[str, str], str]) -> str | None:
    """The key of the Outpost object that owns this child, if any."""
    meta = body.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(api.LABEL_APPLICATION):
        return key("Application", labels[api.LABEL_APPLICATION])
    if labels.get(api.LABEL_TENANT) and labels.get(api.LABEL_MANAGED_BY) == api.MANAGED_BY:
        return key("Tenant", labels[api.LABEL_TENANT])
    for ref in meta.get("ownerReferences") or ():
        if ref.get("apiVersion") == api.API_VERSION and ref.get("kind") in (
            "Tenant",
            "Application",
        ):
            return key(ref["kind"], ref["name"])
    notes = meta.get("annotations") or {}
    release = (notes.get(RELEASE_NAMESPACE, ""), notes.get(RELEASE_NAME, ""))
    return key("Application", releases[release]) if release in releases else None


class Triggers:
    """The watch Sink: remembers which objects exist and enqueues the keys that need a visit."""

    def __init__(self, enqueue: Enqueue, on_watch: Callable[[], None]) -> None:
        self.enqueue = enqueue
        self.on_watch = on_watch
        self.known: dict[str, set[str]] = {kind: set() for kind in OWNED_KINDS}
        self.app_tenant: dict[str, str] = {}
        self.releases: dict[tuple[str, str], str] = {}
        self.written: dict[tuple[str, str, str], str] = {}
        self._dataplane_generation: dict[str, int] = {}
        self.misses: dict[tuple[str, str], int] = {}

    def owned(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None:
        """An event of an Outpost object: remember it, enqueue its visit."""
        self.on_watch()
        name = body["metadata"]["name"]
        if event_type == "DELETED":
            self.known[kind].discard(name)
        else:
            self.known[kind].add(name)
        if event_type == "DELETED" or not self._ours(body):
            self.enqueue(key(kind, name), 0.0)
        self._bundle_of(kind, body)
        if kind == "Application":
            self._application(name, event_type, body)
        elif kind == "Tenant":
            self._tenant(name)
        elif kind == "DataPlane":
            self._dataplane(name, body)

    def _application(self, name: str, event_type: str | None, body: dict[str, Any]) -> None:
        tenant = ((body.get("spec") or {}).get("tenantRef") or {}).get("name") or ""
        if event_type == "DELETED":
            self.app_tenant.pop(name, None)
        elif tenant:
            self.app_tenant[name] = tenant
        # A deleting Tenant waits for its Applications: tell it when one goes.
        if tenant and (event_type == "DELETED" or body["metadata"].get("deletionTimestamp")):
            self.enqueue(key("Tenant", tenant), CHILD_DELAY)
        self._summaries()

    def _bundle_of(self, kind: str, body: dict[str, Any]) -> None:
        """A Tenant or Application a Bundle applied changed (status, or a hand edit): its Bundle
        looks again, to put a hand edit back and to tell whether all it carries is Ready."""
        notes = (body.get("metadata") or {}).get("annotations") or {}
        if kind in ("Tenant", "Application") and notes.get(BUNDLE_ANNOTATION):
            self.enqueue(key("Bundle", str(notes[BUNDLE_ANNOTATION])), SUMMARY_DELAY)

    def _tenant(self, name: str) -> None:
        # Applications waiting for their Tenant to become Ready (or to appear).
        for app in self.apps_of(name):
            self.enqueue(key("Application", app), CHILD_DELAY)
        self._summaries()

    def _dataplane(self, name: str, body: dict[str, Any]) -> None:
        generation = int(body["metadata"].get("generation") or 0)
        if self._dataplane_generation.get(name) != generation:
            self._dataplane_generation[name] = generation
            self.enqueue_all("Tenant")  # tenant defaults may have changed

    def _summaries(self) -> None:
        for name in self.known["DataPlane"]:
            self.enqueue(key("DataPlane", name), SUMMARY_DELAY)

    def apps_of(self, tenant: str) -> list[str]:
        """Applications of a tenant."""
        return [app for app, owner in self.app_tenant.items() if owner == tenant]

    def child(self, event_type: str | None, body: dict[str, Any]) -> None:
        """An event of a child object: wake its owner (not for our own writes)."""
        self.on_watch()
        if event_type != "DELETED" and self._ours(body):
            return  # our own write coming back
        owner = owner_key(body, self.releases)
        if owner:
            self.enqueue(owner, CHILD_DELAY)

    def resync(self, listed: dict[str, list[str]]) -> None:
        """The level trigger: enqueue everything a fresh LIST returned, and notice watch misses.

        A name listed twice in a row that the watch never delivered means a watch stream is
        dead: liveness fails. (With the watch cache, the resync lists from the cache, so a miss
        only shows when an informer itself stopped updating it.)
        """
        misses: dict[tuple[str, str], int] = {}
        for kind, names in listed.items():
            for name in names:
                self.enqueue(key(kind, name), 0.0)
                if name not in self.known[kind]:
                    misses[(kind, name)] = self.misses.get((kind, name), 0) + 1
        self.misses = misses

    @property
    def watch_broken(self) -> bool:
        """Whether a watch missed our own writes twice (it is restarted then)."""
        return any(count >= 2 for count in self.misses.values())

    def _ours(self, body: dict[str, Any]) -> bool:
        """Whether this is the very version our last write produced (nothing new to see)."""
        meta = body.get("metadata") or {}
        ref = (body.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
        return (
            bool(meta.get("resourceVersion")) and self.written.get(ref) == meta["resourceVersion"]
        )

    def wrote(self, obj: dict[str, Any]) -> None:
        """Remember the resourceVersion our write produced (see `child`)."""
        meta = obj.get("metadata") or {}
        ref = (obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
        self.written[ref] = meta.get("resourceVersion", "")

    def enqueue_all(self, kind: str | None = None) -> None:
        """The level trigger: every known object (of `kind`, or of all kinds)."""
        for k in (kind,) if kind else OWNED_KINDS:
            for name in sorted(self.known[k]):
                self.enqueue(key(k, name), 0.0)

    def forget(self, kinds_and_names: Iterable[tuple[str, str, str]]) -> None:
        """Forget the writes recorded for these objects."""
        for ref in kinds_and_names:
            self.written.pop(ref, None)
