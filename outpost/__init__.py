"""The `outpost` command's root: mounts every package's commands (see `outpost.cli`)."""
