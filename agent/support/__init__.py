"""Support bundles: what the cluster says about Outpost, collected, redacted, signed, verified.

Layers inside: `redact` (pure rules over JSON values and text), `archive` (the signed tar.gz and
its verification, over bytes and files), `collect` (the Kubernetes reads), `cli` (the commands).
"""
