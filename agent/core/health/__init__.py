"""kstatus-style health: the vocabulary (`state`), per-kind rules (`workloads`), `assess`."""
