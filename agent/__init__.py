"""Outpost's in-cluster agent: controllers for DataPlane, Tenant, Application, Bundle."""

__version__ = "0.1.0"
