"""The hub's HTTP API as an OpenAPI 3.1 document (served at `/openapi.json`).

Pure data. Kept next to the router (`hub.routes`); a test checks that every route the app
serves is described here and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping

from facts.api import product_version

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """A JSON reference to a schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def content(schema: Mapping[str, object]) -> dict[str, object]:
    """A JSON body of `schema`."""
    return {"content": {JSON: {"schema": schema}}}


def errors(*codes: int) -> dict[str, object]:
    """The error answers with their meanings."""
    text = {
        400: "Malformed envelope or payload", 401: "Bad signature or missing/unknown token",
        403: "Expired token, a viewer asking for an admin call, or another agent or cluster",
        404: "Unknown agent", 408: "Body not sent within the read deadline",
        409: "Replay (old `seq`, reused nonce) or token already used",
        413: "Body over the size limit", 415: "Wrong DSSE payload type",
        422: "`issued_at` outside the accepted window, or usage out of range",
    }  # fmt: skip
    return {str(c): {"description": text[c], **content(ref("Error"))} for c in codes}


def answers(success: dict[str, object], *codes: int) -> dict[str, object]:
    """A success answer plus error answers."""
    return {**success, **errors(*codes)}


def ack_responses(created: int, *codes: int) -> dict[str, object]:
    """The answers of a call that returns a signed ack."""
    return {
        str(created): {"description": "Accepted; hub-signed ack", **content(ref("Envelope"))},
        "200": {"description": "Exact duplicate; the ack stored first", **content(ref("Envelope"))},
        **errors(*codes),
    }


AGENT_ID = {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}
# Readers: an access token as bearer, or the session cookie the sign-in form sets.
READER: list[dict[str, list[str]]] = [{"accessToken": []}, {"session": []}]
ADMIN: list[dict[str, list[str]]] = [{"accessToken": []}]

SCHEMAS: dict[str, object] = {
    "Envelope": {
        "type": "object",
        "description": "DSSE envelope; payload is base64 of the signed JSON document",
        "required": ["payload", "payloadType", "signatures"],
        "properties": {
            "payload": {"type": "string"},
            "payloadType": {"type": "string"},
            "signatures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sig"],
                    "properties": {"keyid": {"type": "string"}, "sig": {"type": "string"}},
                },
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "status"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "status": {"type": "integer"},
                },
            }
        },
    },
    "Agent": {
        "type": "object",
        "properties": {
            "agent_id": {"type": "string"},
            "cluster_uid": {"type": "string"},
            "enrolled_at": {"type": "string", "format": "date-time"},
            "last_seq": {"type": "integer"},
            "last_seen": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Report": {
        "type": "object",
        "properties": {
            "seq": {"type": "integer"},
            "issued_at": {"type": "string", "format": "date-time"},
            "received_at": {"type": "string", "format": "date-time"},
            "chain_gap": {"type": "boolean"},
            "payload_sha256": {"type": "string"},
            "report": {"type": "object", "description": "The verified status payload"},
            "envelope": ref("Envelope"),
        },
    },
    "UploadResult": {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "rejected": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object"}},
        },
    },
}


def array_of(key: str, item: str) -> dict[str, object]:
    """An object holding a list of `item` under `key`."""
    return {"type": "object", "properties": {key: {"type": "array", "items": ref(item)}}}


def ok(description: str, schema: Mapping[str, object] | None = None) -> dict[str, object]:
    """A 200 answer, with a JSON body when `schema` is given."""
    return {"description": description, **(content(schema) if schema else {})}


def post(summary: str, responses: dict[str, object], **extra: object) -> dict[str, object]:
    """A POST of an envelope."""
    body = {"required": True, **content(ref("Envelope"))}
    return {"post": {"summary": summary, "requestBody": body, "responses": responses, **extra}}


def read_paths() -> dict[str, dict[str, object]]:
    """The read API's paths."""
    paging = [
        AGENT_ID,
        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "before_seq", "in": "query", "schema": {"type": "integer"}},
    ]
    reports: dict[str, object] = {"200": ok("Reports", array_of("reports", "Report"))}
    reports.update(errors(400, 401, 404))
    return {
        "/v1/agents": {"get": {
            "summary": "Enrolled agents", "security": READER,
            "responses": answers({"200": ok("Agents", array_of("agents", "Agent"))}, 401),
        }},
        "/v1/agents/{agent_id}/reports": {"get": {
            "summary": "An agent's reports, newest first", "parameters": paging,
            "security": READER, "responses": reports,
        }},
        "/": {"get": {"summary": "Fleet overview (HTML)", "security": READER,
                      "responses": {"200": ok("HTML"), "401": ok("Sign-in form (HTML)")}}},
        "/v1/usage": {"get": {
            "summary": "The usage ledger between `from` and `to` (RFC 3339)", "security": READER,
            "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                           for n in ("from", "to", "install", "tenant", "output")],
            "responses": answers({"200": ok("json, csv or openmeter NDJSON")}, 400, 401),
        }},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": READER,
                             "responses": answers({"200": ok("text")}, 401)}},
        "/login": {
            "get": {"summary": "Sign-in form (HTML)", "responses": {"200": ok("HTML")}},
            "post": {"summary": "Open a session from an access token (form field `token`)",
                     "responses": {"303": ok("Session cookie set"), "401": ok("Form again")}},
        },
        "/logout": {"post": {"summary": "End the session", "responses": {"303": ok("Cleared")}}},
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": ok("3.1")}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": ok("ok")}}},
        "/readyz": {"get": {"summary": "Readiness: the database answers",
                            "responses": {"200": ok("ready"), "503": ok("not ready")}}},
    }  # fmt: skip


def write_paths() -> dict[str, dict[str, object]]:
    """The agents' write paths: enrollment, reports, rotation, uploads."""
    rotated: dict[str, object] = {"200": ok("Hub-signed ack", ref("Envelope"))}
    rotated.update(errors(400, 401, 403, 404, 413, 422))
    uploaded: dict[str, object] = {"200": ok("Per-line results", ref("UploadResult"))}
    uploaded.update(errors(400, 413))
    upload_body = {"required": True, "content": {"application/x-ndjson": {}}}
    return {
        "/v1/enroll": post(
            "Enroll an agent key with a one-time token (proof of possession)",
            ack_responses(201, 400, 401, 403, 409, 413, 415, 422),
            security=[{"enrollmentToken": []}],
        ),
        "/v1/agents/{agent_id}/reports": post(
            "Deliver one signed status report",
            ack_responses(202, 400, 401, 403, 404, 409, 413, 415, 422),
            parameters=[AGENT_ID],
        ),
        "/v1/agents/{agent_id}/keys": post(
            "Rotate an agent key (signed by the current and the new key)",
            rotated,
            parameters=[AGENT_ID],
        ),
        "/v1/enrollment-tokens": {"post": {
            "summary": "Issue a one-time enrollment token (admin)", "security": ADMIN,
            "requestBody": {"required": False, "content": content({"type": "object"})["content"]},
            "responses": answers({"201": ok("The token, shown once", {"type": "object"})},
                                 400, 401, 403),
        }},
        "/v1/access-tokens/{name}/revoke": {"post": {
            "summary": "Revoke an access token (admin)", "security": ADMIN,
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": answers({"200": ok("Revoked", {"type": "object"})}, 401, 403, 404),
        }},
        "/v1/uploads": {"post": {
            "summary": "Upload an exported file (JSON lines of envelopes)",
            "security": [{}, {"enrollmentToken": []}], "requestBody": upload_body,
            "responses": uploaded,
        }},
    }  # fmt: skip


def support_paths() -> dict[str, dict[str, object]]:
    """The support bundle paths."""
    archive = {"required": True, "content": {"application/gzip": {}}}
    sha = {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/v1/agents/{agent_id}/support-bundles": {
            "post": {
                "summary": "Upload a signed support bundle: by the agent (no token; only while "
                           "its latest report shares `support`) or by hand (admin)",
                "security": [{}, {"accessToken": []}], "parameters": [AGENT_ID],
                "requestBody": archive,
                "responses": answers({"201": ok("Stored", {"type": "object"}),
                                      "200": ok("Already stored", {"type": "object"})},
                                     400, 401, 403, 404, 413, 422),
            },
            "get": {"summary": "An install's support bundles, newest first", "security": READER,
                    "parameters": [AGENT_ID],
                    "responses": answers({"200": ok("Support bundles", {"type": "object"})},
                                         401, 404)},
        },
        "/v1/agents/{agent_id}/support-bundles/{sha256}": {"get": {
            "summary": "One support bundle's archive, as received (admin)", "security": ADMIN,
            "parameters": [AGENT_ID, sha],
            "responses": answers({"200": ok("application/gzip")}, 401, 403, 404),
        }},
    }  # fmt: skip


def document() -> dict[str, object]:
    """The whole OpenAPI 3.1 document."""
    paths = {**write_paths(), **support_paths()}
    for path, operations in read_paths().items():
        paths[path] = {**paths.get(path, {}), **operations}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Outpost reference hub", "version": product_version()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "enrollmentToken": {"type": "http", "scheme": "bearer"},
                "accessToken": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "outpost_session"},
            },
        },
        "paths": paths,
    }
