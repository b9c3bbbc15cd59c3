"""Usage metering, pure: fixed windows, what each meter counts, the running ledger."""
