"""Facts every Outpost package agrees on, written once: the API's names and the time format.

The lowest layer of the project: pure, imports nothing of Outpost's own, so that `bundle`,
`airgap`, `wire`, `hub` and `agent` can all read the same fact instead of keeping a copy.
"""
