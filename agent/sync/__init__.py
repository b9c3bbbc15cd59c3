"""Status sync: signed, outbound-only reports from the agent to the vendor's hub.

Pure cores: `protocol`, `enrollment`, `ack`, `snapshot`, `report`, `policy`, `state`, `config`.
I/O shells: `client` (httpx to the hub), `cluster` (Kubernetes stores and gathering), `cycle` and
`loop` (orchestration over the store seams), `cli` (`outpost status`).
"""
