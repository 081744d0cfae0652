"""The five-point systems of flashcli.ops.linsolve built as explicit SciPy sparse matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def scipy_matrix(wx: np.ndarray, wy: np.ndarray) -> sp.csc_matrix:
    """I + Dx^T diag(wx) Dx + Dy^T diag(wy) Dy built explicitly from difference matrices."""
    h, w = wy.shape[0] + 1, wx.shape[1] + 1
    dx1 = sp.diags([-np.ones(w - 1), np.ones(w - 1)], [0, 1], shape=(w - 1, w))
    dy1 = sp.diags([-np.ones(h - 1), np.ones(h - 1)], [0, 1], shape=(h - 1, h))
    dx = sp.kron(sp.eye(h), dx1)
    dy = sp.kron(dy1, sp.eye(w))
    a = sp.eye(h * w) + dx.T @ sp.diags(wx.ravel()) @ dx + dy.T @ sp.diags(wy.ravel()) @ dy
    return a.tocsc()
