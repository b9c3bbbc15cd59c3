"""The reconcilers: one module per kind, gather → decide → act → report (see dispatch)."""
