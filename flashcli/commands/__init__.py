"""Core click commands: each module exposes ``command``."""
