"""Image references and registry addresses, parsed once for `bundle`, `airgap` and the agent.

Pure: text in, values out; relocation maps a source reference to its digest-pinned place in a
customer's registry.
"""
