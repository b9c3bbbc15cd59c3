"""The agent's Kubernetes I/O: its one async client, watch cache, kubeconfig, helm, events."""
