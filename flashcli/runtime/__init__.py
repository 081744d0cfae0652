"""How a job runs: heavy imports on first use (:mod:`.lazy`), the progress callback,
SIGTERM/SIGHUP as Ctrl-C (:mod:`.signals`) and the torch device.

Imports nothing from the layers above (``docs/architecture.md``)."""
