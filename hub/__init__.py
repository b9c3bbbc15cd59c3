"""The reference hub: receives signed status reports; never connects to clusters.

Pure: `checks` (verification rules), `fleet` (read views), `page` (HTML), `openapi`. I/O: `app`
(ASGI), `service` (request logic over the store), `sqlstore`/`sqlite`/`postgres`, `cli`.
"""
