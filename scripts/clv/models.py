"""Buy-till-you-die models in plain numpy/scipy: BG/NBD, MBG/NBD and Gamma-Gamma spend.

Written from the papers, not from a BTYD package:

- BG/NBD: Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way",
  Marketing Science 24(2); conditional expectation from eq. (10), P(alive) from the
  accompanying note (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model").
- MBG/NBD: Batislam, Denizel & Filiztekin (2007), IJRM 24(3); Wagner & Hoppe (2008).
  Same as BG/NBD except that a customer may also drop out right after the first purchase,
  so every purchase (not only repeat ones) is a dropout opportunity.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves",
  JMR 42(4), and Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".

Data: per customer ``x`` (repeat purchase days), ``t_x`` (time of the last purchase since the
first one), ``T`` (time from the first purchase to the end of calibration), ``monetary``
(mean spend of the repeat purchase days). Time unit is whatever the summary used (weeks
for the CDNOW reproduction); parameters ``alpha`` and ``gamma``-free rates follow it.

Parameter names: BG/NBD and MBG/NBD ``(r, alpha, a, b)``; Gamma-Gamma ``(p, q, gamma)``.
Every function taking ``params`` accepts either a mapping with those names (e.g.
``FitResult.params``) or a sequence in that order.

Truncated 2F1 series (shared with the SQL scoring)
--------------------------------------------------
The conditional expectations need the Gauss hypergeometric function at
``z = t / (alpha + T + t)`` (always in [0, 1)). The SQL scorer has no 2F1, so it sums a
truncated power series; :func:`hyp2f1_series` is the Python twin used to check it.
We never sum the textbook series ``2F1(r+x, b+x; a+b+x-1; z)`` directly: its terms grow like
``n**(r+x-a) * z**n`` before decaying, so customers with many purchases need thousands of
terms and the prefactor ``((alpha+T)/(alpha+T+t))**(r+x)`` underflows. Euler's
transformation ``2F1(A,B;C;z) = (1-z)**(C-A-B) * 2F1(C-A, C-B; C; z)`` turns the product into

- BG/NBD:  ``(1-z)**(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)**(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``
- MBG/NBD: ``(1-z)**(r+x) 2F1(r+x, b+x+1; a+b+x; z) = (1-z)**(a-1) 2F1(a+b-r, a-1; a+b+x; z)``

whose numerator parameters do not depend on x. Writing the transformed series as
2F1(A, B; C; z), every term ratio ``(A+n)(B+n) / ((C+n)(n+1)) z`` is at most z in absolute
value when ``A, B > -1``, ``A + B <= C + 1`` and ``|A B| <= C`` ("contracting"; x = 0 is the
worst case, and for BG/NBD it reads ``a + b > r``, ``a <= 2 + r`` and
``|(a+b-1-r)(a-1)| <= a+b-1``; true on CDNOW). Then ``|term_n| <= z**n`` and the remainder
after N terms is at most ``z**N / (1 - z)``; :func:`scoring_series_terms` checks the
condition and picks one N valid for every customer.

:func:`n_terms_needed` (z only) returns the smallest N with ``z**N / (1-z) <= tol``, i.e.
``N = ceil(ln(tol (1-z)) / ln z)``. The rule of thumb "about 20/(1-z) terms" is the same
formula with ``ln(1/z) ~ 1-z`` and a tail of ``e**-20 ~ 2e-9``. Since ``ln(1/z) >= 1-z`` the
exact N is at most ``(ln(1/tol) + ln(1/(1-z))) / (1-z) + 1``, so the default
``tol = 1e-12`` costs about 30/(1-z) terms (z = 0.5: 41; 0.9: 285; 0.95: 598; 0.99: 3208)
and keeps the truncation error far below the rounding of the published 4-decimal numbers.
Passing the series parameters (``a, b, c``) makes the function prove the bound for
arbitrary parameters instead (it walks the term recursion until a rigorous geometric tail
bound falls below ``tol`` times the partial sum). The expectation multiplies the 2F1 error
by ``(a+b+x-1)/|a-1| * (1-z)**(a-1)``, which is large only when ``a`` is close to 1 (the
formula is 0/0 at ``a = 1``; the Python functions then average ``a = 1 +- 1e-5``; the SQL
must do likewise or use a smaller tol).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gamma_gamma": ("p", "q", "gamma"),
}
PURCHASE_MODELS = ("bgnbd", "mbgnbd")
WEEKS_PER_MONTH = 52.0 / 12.0

# Log-parameter box for L-BFGS-B: parameters in [1e-6, 1e6]. Hitting it means the data push a
# parameter to a limiting case (e.g. b -> inf: nobody drops out) and the fit is flagged.
_LOG_BOUND = math.log(1e6)
_A_EQUALS_ONE_EPS = 1e-5


# --------------------------------------------------------------------------- errors & results
class InsufficientDataError(ValueError):
    """The data cannot support a fit; callers null the predictions and store ``reason``."""

    def __init__(
        self,
        model: str,
        reason: str,
        *,
        n_customers: int,
        n_repeat_buyers: int,
        min_repeat_buyers: int,
    ) -> None:
        self.model = model
        self.reason = reason
        self.n_customers = int(n_customers)
        self.n_repeat_buyers = int(n_repeat_buyers)
        self.min_repeat_buyers = int(min_repeat_buyers)
        super().__init__(f"{model}: cannot fit: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "reason": self.reason,
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
            "min_repeat_buyers": self.min_repeat_buyers,
        }


@dataclass(frozen=True)
class FitResult:
    """Outcome of a maximum-likelihood fit.

    ``log_likelihood`` is the unpenalised summed log-likelihood at ``params`` over the
    ``n_customers`` rows used (for Gamma-Gamma: the repeat buyers with positive spend).
    ``converged`` is False when the optimiser reported failure, a parameter ended on the
    [1e-6, 1e6] box, or the (penalised, per-customer) gradient is not small.
    """

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    n_repeat_buyers: int
    converged: bool
    penalizer_coef: float = 0.0
    message: str = ""
    n_starts: int = 1
    start_log_likelihoods: tuple[float, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_log_likelihoods"] = list(self.start_log_likelihoods)
        return d


# --------------------------------------------------------------------------- input helpers
def _params(model: str, params: Mapping[str, float] | Sequence[float]) -> tuple[float, ...]:
    names = PARAM_NAMES[model]
    if isinstance(params, FitResult):
        params = params.params
    if isinstance(params, Mapping):
        missing = [n for n in names if n not in params]
        if missing:
            raise KeyError(f"{model} parameters lack {missing}")
        vals = tuple(float(params[n]) for n in names)
    else:
        vals = tuple(float(v) for v in params)
        if len(vals) != len(names):
            raise ValueError(f"{model} needs {len(names)} parameters {names}, got {len(vals)}")
    if not all(math.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"{model} parameters must be finite and positive, got {vals}")
    return vals


def _rft(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
    )
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or (np.abs(x - np.round(x)) > 1e-9).any():
        raise ValueError("x must be a non-negative whole number")
    tol = 1e-9 * np.maximum(1.0, np.abs(T))
    if (t_x < 0).any() or (t_x > T + tol).any():
        raise ValueError("need 0 <= t_x <= T")
    if (np.abs(t_x[x == 0]) > 1e-12).any():
        raise ValueError("t_x must be 0 for customers with x = 0")
    return x, t_x, T


def _xm(x, monetary) -> tuple[np.ndarray, np.ndarray]:
    x, m = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(monetary, dtype=float))
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("x must be finite and non-negative")
    return x, m


def _scalar_or_array(v: np.ndarray):
    return float(v) if np.ndim(v) == 0 else v


# --------------------------------------------------------------------------- log-likelihoods
# The _..._ll functions take checked inputs (the fit calls them hundreds of times on the same
# arrays) and `by_x`, the distinct x and each row's position among them: the gamma and beta
# functions depend on x alone, so they are evaluated once per distinct x (a few dozen values)
# and gathered, which leaves only logarithms to compute per row.
def _by_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, index = np.unique(x, return_inverse=True)
    return values, index.reshape(np.shape(x))


def _purchase_ll(params, x, t_x, T, by_x=None, *, modified: bool, gradient: bool = False):
    """BG/NBD (modified=False) or MBG/NBD (modified=True) per-row log-likelihood; with
    gradient=True also its derivatives in (r, alpha, a, b), one array each.

    Both models are common + log(exp(alive) + exp(dropped)): alive after the whole period,
    dropped right after the last purchase. MBG/NBD lets a customer drop after the first
    purchase too, which shifts b + x by one and makes dropping possible when x = 0; in
    BG/NBD dropping needs a repeat purchase (x > 0). The derivatives of each part weigh by
    its share of the sum (w_dropped); d betaln(u, v)/du = digamma(u) - digamma(u + v).
    """
    r, alpha, a, b = params
    xv, i = by_x or _by_x(x)
    shift = 1.0 if modified else 0.0
    b_alive = b + xv + shift
    b_dropped = b + np.maximum(xv - 1.0 + shift, 0.0)  # BG/NBD, x = 0: unused, kept finite
    log_alpha_T = np.log(alpha + T)
    log_alpha_t_x = np.log(alpha + t_x)
    common = (gammaln(r + xv) - gammaln(r) + r * math.log(alpha) - betaln(a, b))[i]
    alive = betaln(a, b_alive)[i] - (r + x) * log_alpha_T
    dropped = betaln(a + 1.0, b_dropped)[i] - (r + x) * log_alpha_t_x
    mixed = np.logaddexp(alive, dropped)
    can_drop = True if modified else x > 0
    ll = common + np.where(can_drop, mixed, alive)
    if not gradient:
        return ll
    w_dropped = np.where(can_drop, np.exp(dropped - mixed), 0.0)
    w_alive = 1.0 - w_dropped
    psi_a, psi_b, psi_ab = digamma(a), digamma(b), digamma(a + b)
    d_r = (
        (digamma(r + xv) - digamma(r))[i]
        + math.log(alpha)
        - w_alive * log_alpha_T
        - w_dropped * log_alpha_t_x
    )
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dropped / (alpha + t_x))
    psi_alive = digamma(a + b_alive)
    psi_dropped = digamma(a + 1.0 + b_dropped)
    d_a = (
        psi_ab
        - psi_a
        + w_alive * (psi_a - psi_alive)[i]
        + w_dropped * (digamma(a + 1.0) - psi_dropped)[i]
    )
    d_b = (
        psi_ab
        - psi_b
        + w_alive * (digamma(b_alive) - psi_alive)[i]
        + w_dropped * (digamma(b_dropped) - psi_dropped)[i]
    )
    return ll, (d_r, d_alpha, d_a, d_b)


def _bgnbd_ll(params: tuple[float, ...], x, t_x, T, by_x=None, gradient: bool = False):
    return _purchase_ll(params, x, t_x, T, by_x, modified=False, gradient=gradient)


def _mbgnbd_ll(params: tuple[float, ...], x, t_x, T, by_x=None, gradient: bool = False):
    return _purchase_ll(params, x, t_x, T, by_x, modified=True, gradient=gradient)


def _gamma_gamma_ll(params: tuple[float, ...], x, m, by_x=None, log_m=None, gradient=False):
    """Per-row Gamma-Gamma log density; with gradient=True also its derivatives in
    (p, q, gamma)."""
    p, q, g = params
    xv, i = by_x or _by_x(x)
    pxv = p * xv
    log_xv = np.log(xv)
    per_x = gammaln(pxv + q) - gammaln(pxv) - gammaln(q) + q * math.log(g) + pxv * log_xv
    px = p * x
    log_m = np.log(m) if log_m is None else log_m
    log_g_mx = np.log(g + m * x)
    ll = per_x[i] + (px - 1.0) * log_m - (px + q) * log_g_mx
    if not gradient:
        return ll
    psi_pxq = digamma(pxv + q)
    d_p = x * ((psi_pxq - digamma(pxv) + log_xv)[i] + log_m - log_g_mx)
    d_q = (psi_pxq - digamma(q))[i] + math.log(g) - log_g_mx
    d_g = q / g - (px + q) / (g + m * x)
    return ll, (d_p, d_q, d_g)


def bgnbd_log_likelihood_individual(params, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6), in log space throughout."""
    return _bgnbd_ll(_params("bgnbd", params), *_rft(x, t_x, T))


def mbgnbd_log_likelihood_individual(params, x, t_x, T) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood (Batislam et al. 2007, eq. 4)."""
    return _mbgnbd_ll(_params("mbgnbd", params), *_rft(x, t_x, T))


def gamma_gamma_log_likelihood_individual(params, x, monetary) -> np.ndarray:
    """Per-customer Gamma-Gamma log density of the mean repeat spend ``monetary`` given x.

    f(m | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q m^(px-1) x^(px)
                            / (gamma + m x)^(px+q)            (Fader & Hardie 2013, eq. 3)
    Defined for x > 0 and monetary > 0 only.
    """
    checked = _params("gamma_gamma", params)
    x, m = _xm(x, monetary)
    if (x <= 0).any() or not (np.isfinite(m) & (m > 0)).all():
        raise ValueError("Gamma-Gamma needs x > 0 and finite monetary > 0")
    return _gamma_gamma_ll(checked, x, m)


def _distinct_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns (sorted) and how often each occurs. Customers with
    the same inputs have the same likelihood: summing it once per distinct row with its
    count is the same objective for fewer rows (at 100k generated contacts: 80,699
    customers, 66,424 distinct rows).

    The rows come in lexicographic order, as ``np.unique(axis=0)`` gives them, so that the
    objective sums in the same order; a lexsort finds them about 7 times faster (1M
    generated contacts: 0.18 s against 1.22 s per call, three calls per fit)."""
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    ordered = [np.asarray(column)[order] for column in columns]
    starts_new_row = np.ones(n, dtype=bool)
    if n > 1:
        starts_new_row[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in ordered])
    starts = np.flatnonzero(starts_new_row)
    counts = np.diff(np.append(starts, n))
    return [column[starts] for column in ordered], counts.astype(float)


def bgnbd_log_likelihood(params, x, t_x, T) -> float:
    return float(np.sum(bgnbd_log_likelihood_individual(params, x, t_x, T)))


def mbgnbd_log_likelihood(params, x, t_x, T) -> float:
    return float(np.sum(mbgnbd_log_likelihood_individual(params, x, t_x, T)))


def gamma_gamma_log_likelihood(params, x, monetary) -> float:
    return float(np.sum(gamma_gamma_log_likelihood_individual(params, x, monetary)))


_LL_INDIVIDUAL = {
    "bgnbd": bgnbd_log_likelihood_individual,
    "mbgnbd": mbgnbd_log_likelihood_individual,
}
_LL_CHECKED = {"bgnbd": _bgnbd_ll, "mbgnbd": _mbgnbd_ll}


# --------------------------------------------------------------------------- fitting
def _weighted_sum(counts: np.ndarray, values: np.ndarray) -> float:
    """sum(counts * values) by numpy's own summation, not `counts @ values`: a dot product
    goes to BLAS, whose OpenBLAS threads spin on every core for each call, and whose
    summation order follows the machine's core count. At 1M contacts the fit took 5.6-5.9 s
    with `@` and 3.2-3.6 s with this; the parameters now depend only on the inputs."""
    return float(np.sum(counts * values))


def _neg_mean(counts: np.ndarray, n: int, per_row):
    """Minus the count-weighted mean of per-row log-likelihoods (`_..._ll` output), and of
    their derivatives when it holds them."""
    if not isinstance(per_row, tuple):
        return -_weighted_sum(counts, per_row) / n
    ll, derivatives = per_row
    return -_weighted_sum(counts, ll) / n, -np.array(
        [_weighted_sum(counts, d) for d in derivatives]
    ) / n


def _minimise(
    neg_mean_ll,
    starts: list[np.ndarray],
    penalizer_coef: float,
) -> tuple[np.ndarray, bool, str, list[float]]:
    """L-BFGS-B (analytic gradients) from each start on log-parameters; when the best of
    those fails the convergence checks, Nelder-Mead from each start followed by the same
    L-BFGS-B polish, which is slower but does not need a usable gradient on the way.
    ``neg_mean_ll(params, gradient)`` gives the objective's value, or with gradient=True the
    value and its derivatives in the parameters.

    The objective is the mean negative log-likelihood plus ``penalizer_coef * sum(params**2)``
    (the lifetimes convention, so penalty strengths are comparable). Returns the best
    log-parameters, the convergence flag, a message and the per-start objective values.
    """

    def penalised(theta: np.ndarray, gradient: bool):
        """The objective at log-parameters theta, and with gradient=True its derivatives in
        theta. Outside the model it is flat at 1e50, so that the optimisers back off."""
        flat = (1e50, np.zeros_like(theta)) if gradient else 1e50
        if not np.all(np.isfinite(theta)) or np.any(np.abs(theta) > 2 * _LOG_BOUND):
            return flat
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            result = neg_mean_ll(params, gradient=gradient)
        val, derivatives = result if gradient else (result, 0.0)
        if not (np.isfinite(val) and np.all(np.isfinite(derivatives))):
            return flat
        penalty = penalizer_coef * params**2
        value = val + float(np.sum(penalty))
        if not gradient:
            return value
        # d/dtheta of f(exp(theta)) is params * df/dparams; of the penalty, 2 * penalty
        return value, params * derivatives + 2.0 * penalty

    def objective(theta: np.ndarray) -> float:
        return penalised(theta, gradient=False)

    def objective_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return penalised(theta, gradient=True)

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])

    def polish(x0: np.ndarray):
        return minimize(
            objective_and_gradient,
            np.clip(x0, -_LOG_BOUND, _LOG_BOUND),
            method="L-BFGS-B",
            jac=True,
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
        )

    def simplex_then_polish(start: np.ndarray):
        simplex = minimize(
            objective,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000, "maxfev": 8000},
        )
        return polish(simplex.x)

    # At 1M generated contacts the direct L-BFGS-B needs a third to a half of the evaluations
    # of Nelder-Mead plus polish (docs/decisions.md, "Value-model fit: L-BFGS-B first").
    theta, converged, message, values = _best_of(objective, [polish(s) for s in starts])
    if not converged:
        theta, converged, message, values = _best_of(
            objective, [simplex_then_polish(s) for s in starts]
        )
        message += " (after Nelder-Mead; direct L-BFGS-B did not converge)"
    return theta, converged, message, values


def _best_of(objective, results: list) -> tuple[np.ndarray, bool, str, list[float]]:
    """The lowest of the L-BFGS-B results, checked: finite, inside the box, gradient ~0."""
    values = [float(r.fun) for r in results]
    best = min(results, key=lambda r: r.fun)
    theta = np.asarray(best.x, dtype=float)

    problems = []
    notes = []
    if not np.isfinite(best.fun) or best.fun >= 1e49:
        problems.append("objective not finite")
    if not best.success:
        # Typically "ABNORMAL" line-search exits when already at the optimum to machine
        # precision; the gradient check below decides.
        notes.append(f"L-BFGS-B: {best.message}")
    at_bound = np.abs(theta) > _LOG_BOUND - 1e-3
    if at_bound.any():
        problems.append("a parameter reached the [1e-6, 1e6] box (degenerate data)")
    # Gradient check by central differences on the per-customer objective.
    h = 1e-5
    grad = np.array(
        [
            (objective(theta + h * e) - objective(theta - h * e)) / (2 * h)
            for e in np.eye(len(theta))
        ]
    )
    if not np.all(np.abs(grad[~at_bound]) < 1e-5):
        problems.append(f"gradient not ~0 at the optimum: {grad.tolist()}")
    converged = not problems
    message = "; ".join(problems) if problems else "ok"
    if notes:
        message += " (" + "; ".join(notes) + ")"
    return theta, converged, message, values


def _check_counts(model: str, n_customers: int, n_repeat: int, min_repeat_buyers: int) -> None:
    if n_customers == 0:
        raise InsufficientDataError(
            model,
            "no customers in the calibration summary",
            n_customers=0,
            n_repeat_buyers=0,
            min_repeat_buyers=min_repeat_buyers,
        )
    if n_repeat < max(min_repeat_buyers, 1):
        raise InsufficientDataError(
            model,
            f"{n_repeat} repeat buyer(s) (x > 0) among {n_customers} customers; "
            f"need at least {max(min_repeat_buyers, 1)} (min_repeat_buyers)",
            n_customers=n_customers,
            n_repeat_buyers=n_repeat,
            min_repeat_buyers=min_repeat_buyers,
        )


def _purchase_starts(
    x: np.ndarray, T: np.ndarray, counts: np.ndarray, n_starts: int
) -> list[np.ndarray]:
    """Starting points from the distinct rows and their counts, like every sum of a fit, so
    that the fit does not depend on the order its inputs come in."""
    total_t = _weighted_sum(counts, T)
    rate = _weighted_sum(counts, x) / total_t if total_t > 0 else 1.0
    rate = min(max(rate, 1e-4), 1e4)
    # (r, alpha, a, b): mean purchase rate r/alpha = observed repeat rate; mean dropout
    # probability a/(a+b) of 1/4, 1/3 and 1/6 with different heterogeneity.
    candidates = [
        (1.0, 1.0 / rate, 1.0, 3.0),
        (0.3, 0.3 / rate, 0.5, 1.0),
        (3.0, 3.0 / rate, 2.0, 10.0),
        (0.1, 0.1 / rate, 0.2, 0.5),
    ]
    return [np.log(np.array(c)) for c in candidates[: max(1, n_starts)]]


def fit_purchase_model(
    model: str,
    x,
    t_x,
    T,
    *,
    penalizer_coef: float = 0.0,
    min_repeat_buyers: int = 10,
    n_starts: int = 2,
) -> FitResult:
    """Maximum-likelihood fit of ``model`` in {"bgnbd", "mbgnbd"} to (x, t_x, T).

    Raises :class:`InsufficientDataError` when fewer than ``min_repeat_buyers`` customers have
    x > 0 (the dropout process is not identified without repeat buyers).
    """
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {model!r}; expected one of {PURCHASE_MODELS}")
    if penalizer_coef < 0:
        raise ValueError("penalizer_coef must be >= 0")
    x, t_x, T = _rft(x, t_x, T)
    x, t_x, T = x.ravel(), t_x.ravel(), T.ravel()
    n = int(x.size)
    n_repeat = int(np.count_nonzero(x > 0))
    _check_counts(model, n, n_repeat, min_repeat_buyers)

    ll_fn = _LL_INDIVIDUAL[model]
    checked_ll = _LL_CHECKED[model]
    (ux, ut_x, uT), counts = _distinct_rows(x, t_x, T)
    by_x = _by_x(ux)

    def neg_mean_ll(params: np.ndarray, gradient: bool = False):
        return _neg_mean(counts, n, checked_ll(tuple(params), ux, ut_x, uT, by_x, gradient))

    theta, converged, message, values = _minimise(
        neg_mean_ll, _purchase_starts(ux, uT, counts, n_starts), penalizer_coef
    )
    params = dict(zip(PARAM_NAMES[model], np.exp(theta).tolist(), strict=True))
    ll = _weighted_sum(counts, ll_fn(params, ux, ut_x, uT))
    return FitResult(
        model=model,
        params=params,
        log_likelihood=ll,
        n_customers=n,
        n_repeat_buyers=n_repeat,
        converged=converged and math.isfinite(ll),
        penalizer_coef=float(penalizer_coef),
        message=message,
        n_starts=len(values),
        start_log_likelihoods=tuple(-v * n for v in values),
    )


def fit_bgnbd(x, t_x, T, **kwargs) -> FitResult:
    """BG/NBD fit; see :func:`fit_purchase_model` for the keyword arguments."""
    return fit_purchase_model("bgnbd", x, t_x, T, **kwargs)


def fit_mbgnbd(x, t_x, T, **kwargs) -> FitResult:
    """MBG/NBD fit; see :func:`fit_purchase_model` for the keyword arguments."""
    return fit_purchase_model("mbgnbd", x, t_x, T, **kwargs)


def fit_gamma_gamma(
    x,
    monetary,
    *,
    penalizer_coef: float = 0.0,
    min_repeat_buyers: int = 10,
    n_starts: int = 2,
) -> FitResult:
    """Maximum-likelihood Gamma-Gamma fit on the repeat buyers (x > 0, monetary > 0).

    Customers with x = 0 (or a non-positive / missing mean repeat spend) are ignored; the
    result's ``n_customers`` is the number used. Raises :class:`InsufficientDataError` with
    fewer than ``min_repeat_buyers`` usable customers. Note the model assumes spend is
    independent of the purchase process (check corr(x, monetary) before relying on it) and
    the expected spend is finite only if q > 1.
    """
    if penalizer_coef < 0:
        raise ValueError("penalizer_coef must be >= 0")
    x, m = _xm(x, monetary)
    x, m = x.ravel(), m.ravel()
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    n_all = int(x.size)
    n_use = int(np.count_nonzero(keep))
    if n_all == 0:
        _check_counts("gamma_gamma", 0, 0, min_repeat_buyers)
    if n_use < max(min_repeat_buyers, 1):
        raise InsufficientDataError(
            "gamma_gamma",
            f"{n_use} repeat buyer(s) with positive mean repeat spend among {n_all} customers; "
            f"need at least {max(min_repeat_buyers, 1)} (min_repeat_buyers)",
            n_customers=n_all,
            n_repeat_buyers=n_use,
            min_repeat_buyers=min_repeat_buyers,
        )
    xk, mk = x[keep], m[keep]
    (ux, um), counts = _distinct_rows(xk, mk)
    by_x, log_m = _by_x(ux), np.log(um)

    def neg_mean_ll(params: np.ndarray, gradient: bool = False):
        return _neg_mean(
            counts, n_use, _gamma_gamma_ll(tuple(params), ux, um, by_x, log_m, gradient)
        )

    mean_m = _weighted_sum(counts, um) / n_use
    # (p, q, gamma) with E[spend] = p * gamma / (q - 1) equal to the observed mean.
    candidates = [(1.0, 2.0, mean_m), (5.0, 4.0, 0.6 * mean_m), (20.0, 10.0, 0.45 * mean_m)]
    starts = [np.log(np.array(c)) for c in candidates[: max(1, n_starts)]]
    theta, converged, message, values = _minimise(neg_mean_ll, starts, penalizer_coef)
    params = dict(zip(PARAM_NAMES["gamma_gamma"], np.exp(theta).tolist(), strict=True))
    ll = _weighted_sum(counts, gamma_gamma_log_likelihood_individual(params, ux, um))
    return FitResult(
        model="gamma_gamma",
        params=params,
        log_likelihood=ll,
        n_customers=n_use,
        n_repeat_buyers=n_use,
        converged=converged and math.isfinite(ll),
        penalizer_coef=float(penalizer_coef),
        message=message,
        n_starts=len(values),
        start_log_likelihoods=tuple(-v * n_use for v in values),
    )


def fit_summary(model: str, summary, **kwargs) -> FitResult:
    """Fit ``model`` ("bgnbd", "mbgnbd" or "gamma_gamma") to a summary DataFrame with
    columns x, t_x, T (and monetary for Gamma-Gamma), e.g. from
    :func:`scripts.clv.summary.summarize_transactions`."""
    if model == "gamma_gamma":
        return fit_gamma_gamma(summary["x"], summary["monetary"], **kwargs)
    return fit_purchase_model(model, summary["x"], summary["t_x"], summary["T"], **kwargs)


# --------------------------------------------------------------------------- 2F1 series
def hyp2f1_series(a, b, c, z, n_terms: int):
    """Gauss hypergeometric 2F1(a, b; c; z) as the first ``n_terms`` terms of its power series.

    term_0 = 1, term_{n+1} = term_n * (a+n)(b+n) / ((c+n)(n+1)) * z; sum of term_0..term_{N-1}.
    Broadcasts over array arguments. This is exactly the recursion the SQL scoring evaluates;
    choose ``n_terms`` with :func:`n_terms_needed` (the module docstring explains the error
    bound). Valid for |z| < 1 and c not a non-positive integer.
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    n_terms = int(n_terms)
    if n_terms < 1:
        raise ValueError("n_terms must be >= 1")
    if (np.abs(z) >= 1).any():
        raise ValueError("the 2F1 power series needs |z| < 1")
    term = np.ones(a.shape)
    total = np.ones(a.shape)
    for n in range(n_terms - 1):
        term = term * ((a + n) * (b + n) / ((c + n) * (n + 1.0)) * z)
        total = total + term
    return _scalar_or_array(total)


def n_terms_needed(z, tol: float = 1e-12, a=None, b=None, c=None, max_terms: int = 1_000_000):
    """Number of 2F1 series terms for a truncation error below ``tol``.

    Without ``a, b, c``: the smallest N with ``z**N / (1 - z) <= tol`` for the largest |z|
    given, i.e. ``ceil(ln(tol (1-z)) / ln z)`` (about 30/(1-z) for tol = 1e-12). That bounds
    the remainder whenever every term ratio is at most |z| in size, which holds for the
    Euler-transformed BG/NBD / MBG/NBD series under the usual parameters (module docstring);
    the bound is absolute (the first term is 1).

    With ``a, b, c`` (arrays broadcast with z): walks the recursion and returns the largest,
    over the elements, N such that the remainder after N terms is provably below
    ``tol * |partial sum|``: for k >= N > max(-a, -b, -c) the term ratio is at most
    ``rho_N = |z| (1 + max(a,0)/N)(1 + max(b,0)/N) / (1 + min(c,0)/N)``, so the remainder is
    at most ``|term_N| / (1 - rho_N)``.
    """
    z_arr = np.abs(np.asarray(z, dtype=float))
    if (z_arr >= 1).any() or not np.isfinite(z_arr).all():
        raise ValueError("need |z| < 1")
    if not 0 < tol < 1:
        raise ValueError("tol must be in (0, 1)")
    if a is None and b is None and c is None:
        zmax = float(z_arr.max()) if z_arr.size else 0.0
        if zmax == 0.0:
            return 1
        return max(1, math.ceil(math.log(tol * (1.0 - zmax)) / math.log(zmax)))
    if a is None or b is None or c is None:
        raise ValueError("give all of a, b, c or none")
    a, b, c, zs, za = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (a, b, c, z)), z_arr
    )
    a, b, c, zs, za = (v.ravel() for v in (a, b, c, zs, za))
    bad_c = (c <= 0) & (np.abs(c - np.round(c)) < 1e-12)
    if bad_c.any():
        raise ValueError("c must not be a non-positive integer")
    # For k >= m > max(-a, -b, -c, 0) every factor of the ratio is positive and
    #   rho_k = |z| (1+a/k)(1+b/k) / ((1+c/k)(1+1/k)) <= |z| (1+a+/m)(1+b+/m) / (1+c-/m)
    # (a+ = max(a, 0), c- = min(c, 0)), so the remainder after the terms 0..n is at most
    # |term_{n+1}| / (1 - that bound at m = n+1).
    a_pos, b_pos, c_neg = np.maximum(a, 0.0), np.maximum(b, 0.0), np.minimum(c, 0.0)
    m_min = np.maximum.reduce([-a, -b, -c, np.zeros_like(a)])

    term = np.ones_like(a)
    total = np.ones_like(a)
    needed = np.zeros(a.shape, dtype=np.int64)
    done = za == 0  # the series is exactly 1 after one term
    needed[done] = 1
    n = 0
    while not done.all():
        # state: total = sum of terms 0..n, term = term_n; candidate N = n + 1 terms.
        step = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * zs
        m = n + 1.0
        rho_bar = za * (1.0 + a_pos / m) * (1.0 + b_pos / m) / (1.0 + c_neg / m)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(rho_bar < 1, np.abs(term * step) / (1.0 - rho_bar), np.inf)
        ok = (~done) & (m > m_min) & (tail <= tol * np.abs(total))
        needed[ok] = n + 1
        done |= ok
        term = term * step
        total = total + term
        n += 1
        if n > max_terms:
            raise ValueError(f"2F1 series needs more than {max_terms} terms")
    return int(needed.max()) if needed.size else 1


def series_is_contracting(model: str, params) -> bool:
    """True if the Euler-transformed 2F1 of ``model`` has all term ratios <= z for every x
    (checked at x = 0, the worst case), so the z-only bound of :func:`n_terms_needed`
    holds."""
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {model!r}")
    r, _alpha, a, b = _params(model, params)
    A, B, C = _transformed_hyp_args(model, r, a, b, 0.0, 0.0)
    return bool(A > -1 and B > -1 and A + B <= C + 1 and abs(A * B) <= C)


def scoring_series_terms(
    model: str, params, t_max: float, *, T_min: float = 0.0, tol: float = 1e-12
) -> int:
    """One number of 2F1 series terms that is enough for every customer when scoring
    horizons t <= ``t_max`` for customers with T >= ``T_min`` (largest z =
    t_max / (alpha + T_min + t_max)); this is the N the SQL scoring should use.

    If the transformed series is not contracting for these parameters (rare; see the module
    docstring) the bound is proven by walking the recursion for x = 0..500 instead.
    """
    r, alpha, a, b = _params(model, params)
    if t_max <= 0:
        return 1
    z = t_max / (alpha + T_min + t_max)
    if series_is_contracting(model, params):
        return n_terms_needed(z, tol)
    x = np.arange(0, 501, dtype=float)
    A, B, C = _transformed_hyp_args(model, r, a, b, x, z)
    return n_terms_needed(z, tol, A, B, C)


# --------------------------------------------------------------------------- predictions
def _as_t(t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("t must be finite and >= 0")
    return t


def _purchase_log_odds_dead(model: str, params, x, t_x, T) -> np.ndarray:
    """log of P(dead)/P(alive) at T given (x, t_x, T); -inf where the customer must be alive."""
    r, alpha, a, b = _params(model, params)
    lr = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    if model == "bgnbd":
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) + lr
        return np.where(x > 0, odds, -np.inf)
    return math.log(a) - np.log(b + x) + lr


def probability_alive(model: str, params, x, t_x, T):
    """P(alive at T | x, t_x, T) for "bgnbd" (FHL 2008 note) or "mbgnbd" (Batislam eq. 8).

    BG/NBD: 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) — 1 when x = 0.
    MBG/NBD: 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)).
    """
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {model!r}")
    x, t_x, T = _rft(x, t_x, T)
    return _scalar_or_array(expit(-_purchase_log_odds_dead(model, params, x, t_x, T)))


def bgnbd_probability_alive(params, x, t_x, T):
    return probability_alive("bgnbd", params, x, t_x, T)


def mbgnbd_probability_alive(params, x, t_x, T):
    return probability_alive("mbgnbd", params, x, t_x, T)


def _transformed_hyp_args(model: str, r, a, b, x, z):
    """(A, B, C) of the Euler-transformed 2F1 (module docstring)."""
    if model == "bgnbd":
        return a + b - 1.0 - r, a - 1.0, a + b + x - 1.0
    return a + b - r, a - 1.0, a + b + x


def _conditional_expected_purchases_at(
    model: str, params, t, x, t_x, T, method: str, n_terms: int | None
) -> np.ndarray:
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    A, B, C = _transformed_hyp_args(model, r, a, b, x, z)
    if method == "scipy":
        F = hyp2f1(A, B, C, z)
    elif method == "series":
        nt = n_terms if n_terms is not None else n_terms_needed(z, 1e-12, A, B, C)
        F = hyp2f1_series(A, B, C, z, nt)
    elif method == "direct":
        # Textbook form (no Euler transformation); for cross-checking only.
        if model == "bgnbd":
            Fd = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        else:
            Fd = hyp2f1(r + x, b + x + 1.0, a + b + x, z)
        F = Fd * np.exp((r + x - (a - 1.0)) * np.log1p(-z))
    else:
        raise ValueError("method must be 'scipy', 'series' or 'direct'")
    first = (C) / (a - 1.0)  # (a+b+x-1)/(a-1) for BG/NBD, (a+b+x)/(a-1) for MBG/NBD
    second = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * F
    p_alive = expit(-_purchase_log_odds_dead(model, (r, alpha, a, b), x, t_x, T))
    return first * second * p_alive


def conditional_expected_purchases(
    model: str,
    params,
    t,
    x,
    t_x,
    T,
    *,
    method: str = "scipy",
    n_terms: int | None = None,
):
    """E[number of purchases in (T, T+t] | x, t_x, T].

    BG/NBD (FHL 2005, eq. 10):
      (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
      * P(alive),                                   z = t / (alpha+T+t)
    MBG/NBD (Batislam et al. 2007, eq. 9): (a+b+x)/(a-1) * [1 - (...)^(r+x)
      2F1(r+x, b+x+1; a+b+x; z)] * P(alive).
    Evaluated through the Euler-transformed 2F1 (module docstring). ``method``: "scipy"
    (scipy.special.hyp2f1, the reference), "series" (:func:`hyp2f1_series`, what the SQL
    does; ``n_terms`` defaults to a proven 1e-12 bound) or "direct" (untransformed textbook
    formula, for cross-checks). At a = 1 the formula is 0/0 and the mean of a = 1 +- 1e-5
    is returned.
    """
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {model!r}")
    r, alpha, a, b = _params(model, params)
    x, t_x, T = _rft(x, t_x, T)
    t = _as_t(t)
    x, t_x, T, t = np.broadcast_arrays(x, t_x, T, t)
    with np.errstate(over="ignore"):
        if abs(a - 1.0) < _A_EQUALS_ONE_EPS:
            lo = (r, alpha, 1.0 - _A_EQUALS_ONE_EPS, b)
            hi = (r, alpha, 1.0 + _A_EQUALS_ONE_EPS, b)
            out = 0.5 * (
                _conditional_expected_purchases_at(model, lo, t, x, t_x, T, method, n_terms)
                + _conditional_expected_purchases_at(model, hi, t, x, t_x, T, method, n_terms)
            )
        else:
            out = _conditional_expected_purchases_at(
                model, (r, alpha, a, b), t, x, t_x, T, method, n_terms
            )
    return _scalar_or_array(np.where(t == 0, 0.0, out))


def bgnbd_conditional_expected_purchases(params, t, x, t_x, T, **kwargs):
    return conditional_expected_purchases("bgnbd", params, t, x, t_x, T, **kwargs)


def mbgnbd_conditional_expected_purchases(params, t, x, t_x, T, **kwargs):
    return conditional_expected_purchases("mbgnbd", params, t, x, t_x, T, **kwargs)


def gamma_gamma_conditional_expected_spend(params, x, monetary):
    """E[average spend per transaction | x, mean repeat spend] (Fader & Hardie 2013, eq. 5):

    (gamma + m x) p / (p x + q - 1)
      = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m       (shrinkage to the mean)

    For x = 0 (monetary ignored, may be NaN) this is the population mean p gamma / (q-1).
    Needs q > 1.
    """
    p, q, g = _params("gamma_gamma", params)
    if q <= 1:
        raise ValueError(f"Gamma-Gamma expected spend is infinite for q <= 1 (q = {q})")
    x, m = _xm(x, monetary)
    mx = np.where(x > 0, np.nan_to_num(m, nan=0.0) * x, 0.0)
    if ((x > 0) & ~np.isfinite(m)).any():
        raise ValueError("monetary must be finite where x > 0")
    return _scalar_or_array((g + mx) * p / (p * x + q - 1.0))


def expected_purchases_by_month(
    model: str,
    params,
    x,
    t_x,
    T,
    *,
    horizon_months: int,
    weeks_per_month: float = WEEKS_PER_MONTH,
    method: str = "scipy",
    n_terms: int | None = None,
) -> np.ndarray:
    """Expected purchases in each future month: shape (n_customers, horizon_months).

    Month m covers (T + (m-1) w, T + m w] with w = ``weeks_per_month`` model time units;
    computed as differences of the cumulative conditional expectation.
    """
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError("horizon_months must be a positive integer")
    x, t_x, T = _rft(x, t_x, T)
    x, t_x, T = (np.atleast_1d(v).ravel() for v in (x, t_x, T))
    ts = weeks_per_month * np.arange(1, int(horizon_months) + 1, dtype=float)
    cum = conditional_expected_purchases(
        model,
        params,
        ts[None, :],
        x[:, None],
        t_x[:, None],
        T[:, None],
        method=method,
        n_terms=n_terms,
    )
    cum = np.hstack([np.zeros((x.size, 1)), np.asarray(cum)])
    return np.diff(cum, axis=1)


def expected_lifetime_value(
    model: str,
    purchase_params,
    spend_params,
    x,
    t_x,
    T,
    monetary,
    *,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    weeks_per_month: float = WEEKS_PER_MONTH,
    method: str = "scipy",
    n_terms: int | None = None,
):
    """Discounted predicted lifetime value (revenue) over ``horizon_months``:

    sum_{m=1..H} E[purchases in (T+(m-1)w, T+mw]] * E[spend | x, monetary] / (1+d)^m

    with w = ``weeks_per_month`` (52/12 weeks), d = ``monthly_discount_rate``, the purchase
    model ``model`` ("bgnbd" or "mbgnbd") and Gamma-Gamma expected spend (the population mean
    for x = 0). Multiply by a margin outside if profit rather than revenue is wanted.
    """
    if monthly_discount_rate <= -1:
        raise ValueError("monthly_discount_rate must be > -1")
    per_month = expected_purchases_by_month(
        model,
        purchase_params,
        x,
        t_x,
        T,
        horizon_months=horizon_months,
        weeks_per_month=weeks_per_month,
        method=method,
        n_terms=n_terms,
    )
    spend = np.atleast_1d(gamma_gamma_conditional_expected_spend(spend_params, x, monetary))
    months = np.arange(1, int(horizon_months) + 1, dtype=float)
    discount = (1.0 + monthly_discount_rate) ** -months
    value = spend.ravel() * (per_month @ discount)
    return _scalar_or_array(value if np.ndim(x) else value[0])
