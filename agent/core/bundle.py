"""Pure decisions for Bundles: which bundle is in force, re-verification, and the Bundle's status.

Verification itself is the bundle package's job (`bundle.stored`, `bundle.manifest`); this module
checks that a Bundle object's spec says what its signed manifest says, and decides the Bundle's
conditions from the result. "Which bundle is in force" is decided here once, for the DataPlane's
status and the status report alike, by the import lineage rule of `bundle.lineage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent import api
from agent.core.conditions import Outcome, Problem, Verdict
from agent.core.decision import Decision, finish
from agent.core.objects import Obj, ObjectRef
from bundle.errors import VerificationError
from bundle.keyring import Keyring
from bundle.lineage import Imported, in_force
from bundle.manifest import Manifest, VerifiedManifest, verify_manifest
from bundle.preflight import Result, failed
from bundle.stored import verify_chain
from facts.rfc3339 import format_time


def installed_bundle(bundles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Version and sequence of the Bundle applied last (any product); {} when none was."""
    latest = in_force(Imported.from_object(b) for b in bundles)
    found = next((b for b in bundles if latest and b["metadata"]["name"] == latest.name), None)
    if found is None:
        return {}
    spec = found.get("spec") or {}
    return {"version": str(spec.get("version", "")), "sequence": int(spec.get("sequence") or 0)}


@dataclass(frozen=True)
class Checked:
    """A Bundle whose envelopes verified against the trust root and whose spec matches them."""

    verified: VerifiedManifest
    keyring: Keyring

    @property
    def manifest(self) -> Manifest:
        """The verified manifest."""
        return self.verified.manifest


def reverify(bundle: Mapping[str, Any], trust_root: bytes, now: datetime) -> Checked:
    """Verify the stored envelopes and check that the spec says what was signed.

    Raises:
        VerificationError: anything does not verify or does not match.
    """
    spec = bundle.get("spec") or {}
    chain = [str(e).encode() for e in spec.get("keyringChain") or ()]
    keyring = verify_chain(chain, trust_root, now)
    verified = verify_manifest(str(spec.get("signedManifest", "")).encode(), keyring, now)
    _check_spec(spec, verified)
    return Checked(verified, keyring)


def _check_spec(spec: Mapping[str, Any], verified: VerifiedManifest) -> None:
    m = verified.manifest
    signed = {
        "product": m.product,
        "channel": m.channel,
        "version": m.version,
        "sequence": m.sequence,
        "manifestDigest": f"sha256:{verified.digest}",
    }
    for field, value in signed.items():
        if spec.get(field) != value:
            raise VerificationError(
                f"spec check failed: `spec.{field}` is {spec.get(field)!r} but the signed manifest"
                f" says {value!r}; re-import the bundle with `outpost bundle apply`"
            )
    for item in spec.get("content") or ():
        entry = m.file(str(item.get("path")))
        if (item.get("sha256"), item.get("size")) != (f"sha256:{entry.sha256}", entry.size):
            raise VerificationError(
                f"spec check failed: `spec.content` entry '{entry.path}' does not match the"
                " signed manifest's size and sha256"
            )


@dataclass(frozen=True)
class Evidence:
    """What a successful verification established; kept in status as an audit record."""

    signer_key_ids: tuple[str, ...]
    manifest_digest: str
    verified_time: datetime
    policy: str

    def to_dict(self) -> dict[str, Any]:
        """The evidence as the Bundle's `status.evidence`."""
        return {
            "signerKeyIds": list(self.signer_key_ids),
            "manifestDigest": self.manifest_digest,
            "verifiedTime": format_time(self.verified_time),
            "policy": self.policy,
        }


@dataclass(frozen=True)
class BundleObservation:
    """The Bundle, its verification result, and the state of its resources.

    `verification`: Evidence, or a Problem with reason VerificationFailed or RollbackRefused.
    `applied`: objects the bundle's resources were applied as. `pending`: human-readable names
    of resources that failed (not applied, or Stalled since). `waiting`: Tenants and
    Applications applied but not Ready yet (no status yet, or Ready=False, or a status older
    than their spec): the Bundle is not Ready until they are.
    """

    bundle: Obj
    verification: Evidence | Problem
    applied: tuple[ObjectRef, ...] = ()
    pending: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    preflight: tuple[Result, ...] | None = None
    """The preflight results of this visit (None: not run now; the last ones stay in status)."""


def decide_bundle(obs: BundleObservation, now: datetime) -> Decision:
    """Conditions Verified, Applied, PreflightPassed and Ready, and the evidence, for one visit."""
    fields: Obj = {"applied": [ref.to_dict() for ref in obs.applied]}
    if isinstance(obs.verification, Problem):
        return finish(obs.bundle, _refused(obs.verification), fields, now)
    fields["evidence"] = obs.verification.to_dict()
    outcome = _verified(obs.pending, obs.waiting)
    if obs.preflight is not None:
        fields["preflight"] = [r.to_dict() for r in obs.preflight]
        outcome = replace(outcome, extra=(*outcome.extra, _preflight_verdict(obs.preflight)))
        if failed(obs.preflight):
            outcome = _preflight_refused(outcome)
    return finish(obs.bundle, outcome, fields, now)


def _preflight_verdict(results: Sequence[Result]) -> Verdict:
    strict, loose = failed(results), failed(results, strict=False)
    if strict:
        shown = "; ".join(f"{r.name} ({r.message})" for r in strict)
        message = (
            f"Strict preflight checks failed: {shown}. Nothing of this bundle is applied; the"
            " bundle in force stays in force."
        )
        return Verdict(api.ConditionType.PREFLIGHT_PASSED, "False", api.Reason.PREFLIGHT_FAILED,
                       message)  # fmt: skip
    warned = f" Warnings: {'; '.join(f'{r.name} ({r.message})' for r in loose)}." if loose else ""
    message = f"{len(results)} preflight checks run; every strict one passed.{warned}"
    return Verdict(api.ConditionType.PREFLIGHT_PASSED, "True", api.Reason.PREFLIGHT_PASSED,
                   message)  # fmt: skip


def _preflight_refused(outcome: Outcome) -> Outcome:
    pre = next(v for v in outcome.extra if v.type == api.ConditionType.PREFLIGHT_PASSED)
    applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED, pre.message)
    extra = tuple(v for v in outcome.extra if v.type != api.ConditionType.APPLIED)
    return Outcome("False", api.Reason.PREFLIGHT_FAILED, pre.message, stalled=True,
                   extra=(*extra, applied))  # fmt: skip


def _refused(problem: Problem) -> Outcome:
    if problem.reason in _POLICY_REASONS:  # verified, but held back by the licence
        applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED,
                          f"Nothing from this bundle is applied: {problem.message}")  # fmt: skip
        return Outcome("False", problem.reason, problem.message, stalled=True, extra=(applied,))
    verified = Verdict(api.ConditionType.VERIFIED, "False", problem.reason, problem.message)
    applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED,
                      "Nothing from this bundle is applied because it did not verify.")  # fmt: skip
    return Outcome("False", problem.reason, problem.message, stalled=True,
                   extra=(verified, applied))  # fmt: skip


_POLICY_REASONS = frozenset({api.Reason.LICENSE_EXPIRED, api.Reason.LICENSE_REQUIRED})


def _verified(pending: Sequence[str], waiting: Sequence[str] = ()) -> Outcome:
    verified = Verdict(api.ConditionType.VERIFIED, "True", api.Reason.VERIFIED,
                       "Signature, keyring chain and content digests verified.")  # fmt: skip
    if pending:
        message = f"{len(pending)} resources are not applied or not Ready yet: {_shown(pending)}."
        applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED, message)
        return Outcome("False", api.Reason.PROGRESSING, message, reconciling=True,
                       extra=(verified, applied))  # fmt: skip
    applied = Verdict(api.ConditionType.APPLIED, "True", api.Reason.APPLIED,
                      "Every resource of the bundle is applied.")  # fmt: skip
    if waiting:
        message = (
            f"Applied; waiting for {len(waiting)} Tenants and Applications to become Ready: "
            f"{_shown(waiting)}."
        )
        return Outcome("False", api.Reason.PROGRESSING, message, reconciling=True,
                       extra=(verified, applied))  # fmt: skip
    message = "Every resource of the bundle is applied and Ready."
    return Outcome("True", api.Reason.RECONCILED, message, extra=(verified, applied))


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
