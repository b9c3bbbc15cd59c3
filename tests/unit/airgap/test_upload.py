"""Blob uploads against an in-process fake of the upload protocol (httpx.MockTransport).

Covers: monolithic POST + PUT for small blobs; chunked PATCHes with contiguous Content-Range
that always follow the latest Location, then a closing PUT; resume from a journaled upload the
registry confirms; restart from byte 0 when the registry has forgotten it; mount short-cut.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest

from airgap.journal import UploadJournal
from airgap.plan import BlobStep
from airgap.progress import NullObserver
from airgap.registry import RegistryClient
from airgap.session import RegistrySession
from airgap.upload import BlobUploader, UploadSettings
from refs.address import parse_address

DATA = bytes(range(256)) * 40  # 10240 bytes
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
SETTINGS = UploadSettings(chunk_size=4096, monolithic_max=4096)


class FakeUploads:
    """Sessions keyed by id; each Location carries a counter that must be the latest."""

    def __init__(self) -> None:
        self.sessions: dict[str, bytearray] = {}
        self.latest: dict[str, int] = {}
        self.log: list[str] = []
        self.committed: dict[str, bytes] = {}

    def location(self, sid: str) -> str:
        self.latest[sid] = self.latest.get(sid, 0) + 1
        return f"/v2/r/blobs/uploads/{sid}?_state={self.latest[sid]}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.log.append(f"{method} {request.headers.get('Content-Range', '')}".strip())
        if method == "POST" and "mount" in request.url.params:
            return httpx.Response(201)
        if method == "POST":
            sid = f"u{len(self.sessions)}"
            self.sessions[sid] = bytearray()
            return httpx.Response(202, headers={"Location": self.location(sid)})
        sid = path.rsplit("/", 1)[-1]
        if sid not in self.sessions:
            return httpx.Response(404)
        assert request.url.params["_state"] == str(self.latest[sid]), "stale Location used"
        return self.upload_step(request, sid)

    def upload_step(self, request: httpx.Request, sid: str) -> httpx.Response:
        data = self.sessions[sid]
        if request.method == "GET":
            headers = {"Range": f"0-{len(data) - 1}", "Location": self.location(sid)}
            return httpx.Response(204, headers=headers)
        body = request.read()
        if request.method == "PATCH":
            start, end = map(int, re.findall(r"\d+", request.headers["Content-Range"]))
            assert (start, end) == (len(data), len(data) + len(body) - 1)
            data += body
            return httpx.Response(202, headers={"Location": self.location(sid)})
        data += body
        self.committed[request.url.params["digest"]] = bytes(data)
        return httpx.Response(201, headers={"Docker-Content-Digest": request.url.params["digest"]})


def opener(offset: int, length: int) -> Iterator[bytes]:
    yield DATA[offset : offset + length]


def uploader(fake: FakeUploads, journal: UploadJournal, settings: UploadSettings) -> BlobUploader:
    session = RegistrySession(parse_address("reg.test"), transport=httpx.MockTransport(fake))
    return BlobUploader(RegistryClient(session), journal, NullObserver(), settings)


def test_small_blob_goes_in_one_put() -> None:
    fake = FakeUploads()
    step = BlobStep("r", DIGEST, len(DATA), "upload")
    assert uploader(fake, UploadJournal(None), UploadSettings()).push(step, opener) == "sent"
    assert fake.log == ["POST", "PUT"]
    assert fake.committed[DIGEST] == DATA


def test_large_blob_goes_in_contiguous_chunks_following_the_latest_location() -> None:
    fake = FakeUploads()
    up = uploader(fake, UploadJournal(None), SETTINGS)
    assert up.push(BlobStep("r", DIGEST, len(DATA), "upload"), opener) == "sent"
    assert fake.log == ["POST", "PATCH 0-4095", "PATCH 4096-8191", "PATCH 8192-10239", "PUT"]
    assert fake.committed[DIGEST] == DATA
    assert up.bytes_sent == len(DATA)


def test_journaled_upload_resumes_where_the_registry_confirms() -> None:
    fake = FakeUploads()
    journal = UploadJournal(None)
    key = journal.key("reg.test", "r", DIGEST)
    fake.sessions["u9"] = bytearray(DATA[:4096])
    journal.record(key, "https://reg.test" + fake.location("u9"), 4096)
    up = uploader(fake, journal, SETTINGS)
    assert up.push(BlobStep("r", DIGEST, len(DATA), "resume", offset=4096), opener) == "resumed"
    assert fake.log == ["GET", "PATCH 4096-8191", "PATCH 8192-10239", "PUT"]
    assert up.bytes_sent == len(DATA) - 4096
    assert journal.get(key) is None


def test_forgotten_upload_restarts_from_zero() -> None:
    fake = FakeUploads()
    journal = UploadJournal(None)
    journal.record(
        journal.key("reg.test", "r", DIGEST),
        "https://reg.test/v2/r/blobs/uploads/gone?_state=1",
        4096,
    )
    up = uploader(fake, journal, SETTINGS)
    assert up.push(BlobStep("r", DIGEST, len(DATA), "upload"), opener) == "sent"
    assert fake.log[:3] == ["GET", "POST", "PATCH 0-4095"]


@pytest.mark.parametrize(("action", "expected"), [("mount", "mounted"), ("exists", "exists")])
def test_mount_and_exists_send_nothing(action: str, expected: str) -> None:
    fake = FakeUploads()
    up = uploader(fake, UploadJournal(None), SETTINGS)
    step = BlobStep("r2", DIGEST, len(DATA), action, source="r")  # type: ignore[arg-type]
    assert up.push(step, opener) == expected
    assert up.bytes_sent == 0
