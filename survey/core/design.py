"""The numeric side of a sampling design: codes and weights for Taylor-linearised variances.

`Design.vcov_total(z)` is the one primitive every design-based statistic builds on: the
estimated covariance matrix of the weighted totals ``sum_i w_i z_i`` of the columns of ``z``
(R: ``survey:::svyrecvar`` / ``svytotal``'s vcov). Means, proportions, Rao-Scott tests and
the sandwich of ``svyglm`` are all "linearise, then call vcov_total".

This first version implements single-stage designs (strata, one PSU level, fpc);
multi-stage designs, lonely PSUs and calibration residuals are added in
``survey.weighting`` / this module as the weighting issue lands.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError

if TYPE_CHECKING:  # pragma: no cover
    from .survey import Survey


@dataclasses.dataclass(frozen=True, eq=False)
class Design:
    """Integer-coded design arrays (length n each)."""

    weights: np.ndarray
    strata: np.ndarray  # int codes 0..H-1
    psu: np.ndarray  # int codes, unique across strata
    fpc: np.ndarray | None  # population size N_h per row (stage 1), or None
    n_strata: int
    n_psu: int

    @property
    def degf(self) -> int:
        """Design degrees of freedom: #PSU - #strata (R's ``degf``)."""
        return self.n_psu - self.n_strata

    @classmethod
    def from_survey(cls, survey: Survey) -> Design:
        data = survey.data
        n = len(data)
        spec = survey.design
        weights = survey.weights
        if len(spec.psu) > 1 or len(spec.fpc) > 1:
            raise AnalysisError("multi-stage designs are not supported yet")
        strata = _codes(data[spec.strata]) if spec.strata else np.zeros(n, dtype=np.int64)
        if spec.psu:
            psu_raw = data[spec.psu[0]]
            key = pd.MultiIndex.from_arrays([strata, psu_raw.to_numpy()])
            psu = pd.factorize(key, sort=True)[0].astype(np.int64)
        else:
            psu = np.arange(n, dtype=np.int64)
        fpc = None
        if spec.fpc:
            f = pd.to_numeric(data[spec.fpc[0]], errors="coerce").to_numpy(dtype=float)
            if np.all(f <= 1):  # given as sampling fractions -> population sizes
                npsu_h = _psu_per_stratum(strata, psu)
                f = npsu_h[strata] / f
            fpc = f
            if survey.weight is None:
                npsu_h = _psu_per_stratum(strata, psu)
                weights = fpc / npsu_h[strata]
        return cls(
            weights=np.asarray(weights, dtype=float),
            strata=strata,
            psu=psu,
            fpc=fpc,
            n_strata=int(strata.max()) + 1 if n else 0,
            n_psu=int(psu.max()) + 1 if n else 0,
        )

    def vcov_total(self, z: np.ndarray) -> np.ndarray:
        """Covariance matrix of the weighted totals of the columns of ``z`` (n x k).

        Between-PSU variance within strata with factor n_h/(n_h-1) and (1 - n_h/N_h).
        """
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        wz = z * self.weights[:, None]
        k = z.shape[1]
        # PSU totals
        t = np.zeros((self.n_psu, k))
        np.add.at(t, self.psu, wz)
        psu_stratum = np.zeros(self.n_psu, dtype=np.int64)
        psu_stratum[self.psu] = self.strata
        n_h = np.bincount(psu_stratum, minlength=self.n_strata).astype(float)
        mean_h = np.zeros((self.n_strata, k))
        np.add.at(mean_h, psu_stratum, t)
        mean_h /= np.maximum(n_h, 1)[:, None]
        dev = t - mean_h[psu_stratum]
        scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 0.0)
        if self.fpc is not None:
            N_h = np.zeros(self.n_strata)
            N_h[self.strata] = self.fpc
            scale = scale * (1 - n_h / N_h)
        dev = dev * np.sqrt(scale[psu_stratum])[:, None]
        return dev.T @ dev


def _codes(series: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(series, sort=True)
    if (codes < 0).any():
        raise AnalysisError(f"design column '{series.name}' has missing values")
    return codes.astype(np.int64)


def _psu_per_stratum(strata: np.ndarray, psu: np.ndarray) -> np.ndarray:
    pairs = np.unique(np.stack([strata, psu], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=strata.max() + 1).astype(float)
