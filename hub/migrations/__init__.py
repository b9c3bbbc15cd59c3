"""The hub's schema migrations: ordered SQL files, applied once each (see hub.migrate)."""
