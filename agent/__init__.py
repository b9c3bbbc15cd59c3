"""Outpost's in-cluster agent: controllers for DataPlane, Tenant, Application, Bundle."""
