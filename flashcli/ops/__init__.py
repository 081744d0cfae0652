"""Image operators and solvers in torch: filters, the gain carried to full resolution
(:mod:`.upsample`), tiling, linear solvers (:mod:`.linsolve`, :mod:`.tridiag`), colour
temperature, the look of a relit photo (:mod:`.look`) and the quality metrics.

Imports nothing from the layers above (``docs/architecture.md``)."""
