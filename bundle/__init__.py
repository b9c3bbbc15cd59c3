"""Signed bundles: DSSE envelopes, keyrings, manifests, the strict archive reader and writer."""
