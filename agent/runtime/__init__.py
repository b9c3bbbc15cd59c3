"""The agent process: leader lease, watches feeding triggers, the work queue, metrics."""
