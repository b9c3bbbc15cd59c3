"""Tenants: the spec with its defaults, the objects that isolate a tenant, the decision."""
