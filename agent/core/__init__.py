"""The agent's pure core: observations and a clock in, decisions out; no I/O, no client."""
