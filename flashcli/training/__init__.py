"""The training engine shared by every trainable method (see ``task.py`` for the contract)."""
