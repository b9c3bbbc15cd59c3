"""OCI distribution-spec operations on one registry: the verbs the push is made of.

Thin over `RegistrySession` (which does the I/O, retries and error translation). Upload
`Location`s are used exactly as returned — docker-registry 2.8.2 signs the upload offset into
them, so only the latest one is valid — and `digest=` is the one parameter appended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin

import httpx

from airgap.auth import Credentials
from airgap.errors import RegistryError
from airgap.oci import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from airgap.session import RegistrySession
from refs.address import RegistryAddress, parse_address

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
_RANGE = re.compile(r"^(?:bytes=)?(\d+)-(\d+)$")


@dataclass(frozen=True)
class UploadStatus:
    """An upload session the registry still holds: next byte offset and the fresh Location."""

    location: str
    end: int | None


class RegistryClient:
    """Blob and manifest operations; repository names are full paths inside the registry."""

    def __init__(self, session: RegistrySession) -> None:
        self.session = session

    @property
    def address(self) -> RegistryAddress:
        """The registry this client talks to."""
        return self.session.address

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def blob_exists(self, repo: str, digest: str) -> bool:
        """Whether `repo` holds the blob (HEAD)."""
        response = self.session.request(
            "HEAD",
            f"/v2/{repo}/blobs/{digest}",
            expect=(200, 404),
            what=f"checking blob {digest} in {repo}",
        )
        return response.status_code == 200

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        """Digest the registry serves for a tag or digest, or None if it has none."""
        response = self.session.request(
            "HEAD",
            f"/v2/{repo}/manifests/{reference}",
            expect=(200, 404),
            what=f"checking manifest {repo}:{reference}",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest") or reference

    def start_upload(self, repo: str) -> str:
        """Open an upload session in `repo`; returns its location."""
        response = self.session.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            expect=(202,),
            what=f"starting an upload to {repo}",
        )
        return self._location(response.headers.get("Location"), f"upload to {repo}")

    def accepts_push(self, repo: str) -> bool:
        """Whether the registry takes uploads into `repo`: an upload is started, then cancelled.

        False when it answers NAME_UNKNOWN (404), as registries do that create repositories
        only through their own API (e.g. ECR), not on the first push.
        """
        response = self.session.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            expect=(202, 404),
            what=f"checking that {repo} takes uploads",
        )
        if response.status_code == 404:
            return False
        self.cancel_upload(self._location(response.headers.get("Location"), f"upload to {repo}"))
        return True

    def mount_blob(self, repo: str, digest: str, source: str) -> str | None:
        """Cross-repository mount; None when mounted, else the Location of a started upload."""
        response = self.session.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/?mount={quote(digest)}&from={quote(source)}",
            expect=(201, 202),
            what=f"mounting blob {digest} from {source} into {repo}",
        )
        if response.status_code == 201:
            return None
        return self._location(response.headers.get("Location"), f"upload to {repo}")

    def upload_status(self, location: str) -> UploadStatus | None:
        """GET an upload session: its Range end and fresh Location, or None if it is gone."""
        response = self.session.request(
            "GET", location, expect=(204, 400, 404), what="checking a journaled upload"
        )
        if response.status_code != 204:
            return None
        match = _RANGE.match(response.headers.get("Range", "").strip())
        fresh = response.headers.get("Location") or location
        return UploadStatus(self._location(fresh, "upload"), int(match[2]) if match else None)

    def patch_chunk(
        self, location: str, chunk: Iterable[bytes], start: int, length: int, what: str
    ) -> str:
        """Append bytes [start, start+length) to an upload; returns the next Location."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + length - 1}",
        }
        response = self.session.stream(
            "PATCH", location, what=what, expect=(202,), headers=headers, body=chunk, length=length
        )
        return self._location(response.headers.get("Location"), what)

    def finish_upload(
        self, location: str, digest: str, body: Iterable[bytes] | None, length: int, what: str
    ) -> None:
        """Close an upload with `PUT …digest=` (carrying the bytes when monolithic)."""
        url = f"{location}{'&' if '?' in location else '?'}digest={quote(digest)}"
        headers = {"Content-Type": "application/octet-stream"}
        if body is None:
            response = self.session.request(
                "PUT", url, what=what, expect=(201,), headers=headers, content=b""
            )
        else:
            response = self.session.stream(
                "PUT", url, what=what, expect=(201,), headers=headers, body=body, length=length
            )
        self._check_digest(response.headers.get("Docker-Content-Digest"), digest, what)

    def cancel_upload(self, location: str) -> None:
        """Cancel an abandoned upload (best effort: the registry may have dropped it)."""
        self.session.request(
            "DELETE", location, expect=(202, 204, 400, 404), what="cancelling an abandoned upload"
        )

    def get_manifest(self, repo: str, reference: str) -> bytes | None:
        """The exact bytes of a manifest or index, or None when the registry has none."""
        response = self.session.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            expect=(200, 404),
            what=f"reading manifest {repo}:{reference}",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return response.content if response.status_code == 200 else None

    def referrers_list(self, repo: str, subject: str) -> list[str] | None:
        """Digests the referrers API lists for `subject`, or None when there is no such API."""
        response = self.session.request(
            "GET",
            f"/v2/{repo}/referrers/{subject}",
            expect=(200, 400, 404, 405),
            what=f"listing referrers of {repo}@{subject}",
            headers={"Accept": OCI_INDEX},
        )
        if response.status_code != 200:
            return None
        try:
            found = response.json().get("manifests") or []
            return [str(m.get("digest")) for m in found if isinstance(m, dict)]
        except (ValueError, AttributeError):
            return None

    def put_manifest(
        self, repo: str, reference: str, media_type: str, raw: bytes, digest: str
    ) -> bool:
        """PUT exact manifest bytes; the registry's digest must equal ours.

        Returns whether the registry says it indexed the manifest's `subject` (`OCI-Subject`).
        """
        what = f"pushing manifest {repo}:{reference}"
        response = self.session.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            what=what,
            expect=(201,),
            headers={"Content-Type": media_type},
            content=raw,
        )
        self._check_digest(response.headers.get("Docker-Content-Digest"), digest, what)
        return "OCI-Subject" in response.headers

    def _location(self, location: str | None, what: str) -> str:
        if not location:
            raise RegistryError(f"registry {self.address.netloc} sent no Location for {what}")
        return urljoin(self.address.base_url + "/", location)

    def _check_digest(self, reported: str | None, expected: str, what: str) -> None:
        if reported is not None and reported != expected:
            raise RegistryError(
                f"registry {self.address.netloc} stored {reported} while "
                f"{what}, expected {expected}: the data was altered on the way"
            )


def open_client(
    registry: str,
    *,
    ca_file: Path | None = None,
    insecure_http: bool = False,
    credentials: Credentials | None = None,
    transport: httpx.BaseTransport | None = None,
) -> RegistryClient:
    """A client for `HOST[:PORT][/PREFIX]` (plain HTTP only towards loopback)."""
    address = parse_address(registry, insecure_http=insecure_http)
    return RegistryClient(RegistrySession(address, credentials, ca_file, transport=transport))
