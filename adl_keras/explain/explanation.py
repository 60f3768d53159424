"""The one result type of every explainer: :class:`Explanation`."""

import dataclasses
from typing import Optional

import numpy as np

# Methods whose attributions add up to f(x) - base value (the SHAP "local
# accuracy" / integrated-gradients "completeness" axiom). Documented
# tolerances: shap-deep, shap-kernel, shap-partition exact up to float
# rounding (< 1e-4 measured on the zoo); integrated-gradients with
# steps="auto" < tolerance / 10 = 1e-3 by construction (up to 512 steps);
# shap-gradient (expected gradients) only in expectation: its Monte-Carlo
# error shrinks with nsamples (0.08-0.3 measured at nsamples=200).
ADDITIVE_METHODS = ("shap-deep", "shap-gradient", "shap-kernel", "shap-partition", "integrated-gradients")


@dataclasses.dataclass
class Explanation:
    """Attributions of a batch of inputs, one explained output per example.

    Attributes:
        values: ``(n, *input_shape)`` attributions of the explained output.
        base_values: ``(n,)`` reference output: E[f(background)] for SHAP
            and background-baseline integrated gradients, f(baseline) for a
            single baseline, the surrogate's intercept for LIME, NaN for
            saliency and Grad-CAM (which do not decompose the output).
        data: ``(n, *input_shape)`` the explained inputs.
        output_names: ``(n,)`` name of the output explained for each example.
        method: the method that produced ``values`` (after any fallback).
        seconds: wall-clock time of the explanation.
        targets: ``(n,)`` index of the explained output per example.
        output_values: ``(n,)`` model output f(x)[target].
        kind: ``"image"``, ``"tabular"`` or ``"sequence"``.
        feature_names: names of the last input axis (tabular, sequence), or None.
        requested_method: the method asked for (differs from ``method`` after a fallback).
        notes: human-readable remarks, e.g. why a fallback happened.
        extras: method specifics (LIME segments and weights, Grad-CAM layer, IG steps...).

    Example:
        >>> e = explain(model, x, method="integrated-gradients", background=bg)
        >>> e.additivity_error() < 1e-2
        True
    """

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray
    output_names: list
    method: str
    seconds: float
    targets: np.ndarray
    output_values: np.ndarray
    kind: str
    feature_names: Optional[list] = None
    requested_method: Optional[str] = None
    notes: list = dataclasses.field(default_factory=list)
    extras: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.requested_method is None:
            self.requested_method = self.method

    def __len__(self):
        return len(self.values)

    @property
    def is_additive(self):
        """Whether ``values`` are meant to sum to ``output_values - base_values``."""
        return self.method in ADDITIVE_METHODS

    @property
    def fallback(self):
        """True when ``method`` differs from the requested one."""
        return self.method != self.requested_method

    def sums(self):
        """Per-example sum of the attributions, shape ``(n,)``."""
        return self.values.reshape(len(self.values), -1).sum(axis=1)

    def additivity_errors(self):
        """|sum_i phi_i - (f(x) - base)| per example (SHAP local accuracy).

        Raises:
            ValueError: for methods that do not decompose the output.
        """
        if not self.is_additive:
            raise ValueError(
                f"Additivity is not defined for method={self.method!r}; it holds for {ADDITIVE_METHODS}."
            )
        # local accuracy: f(x) = phi_0 + sum_i phi_i
        return np.abs(self.sums() - (self.output_values - self.base_values))

    def additivity_error(self):
        """Largest per-example additivity error (see :meth:`additivity_errors`)."""
        return float(np.max(self.additivity_errors()))

    def pixel_values(self):
        """Image attributions summed over channels, ``(n, H, W)``; others unchanged."""
        if self.kind == "image":
            return self.values.sum(axis=-1)
        return self.values

    def __getitem__(self, index):
        """The explanation of example(s) ``index`` (an int keeps the batch axis)."""
        if isinstance(index, (bool, np.bool_)):
            raise TypeError(f"index must be an int, a slice or a list of ints, not a bool. Received: index={index!r}")
        index = [index] if isinstance(index, (int, np.integer)) else index
        pick = lambda a: np.asarray(a)[index]
        return dataclasses.replace(
            self, values=pick(self.values), base_values=pick(self.base_values), data=pick(self.data),
            output_names=list(pick(np.asarray(self.output_names, dtype=object))),
            targets=pick(self.targets), output_values=pick(self.output_values),
            extras={k: (pick(v) if isinstance(v, np.ndarray) and len(v) == len(self.values) else v)
                    for k, v in self.extras.items()},
        )

    def to_shap(self):
        """This explanation as a ``shap.Explanation`` that shap's plots accept.

        Tabular: ``shap.plots.waterfall(e.to_shap()[i])``, ``bar`` and
        ``beeswarm`` on the batch or an example. Images keep their
        ``(n, H, W, C)`` shape for ``shap.plots.image``. Sequences are
        flattened to ``(n, T * F)`` features named ``"<feature>@t<step>"``, so
        the tabular plots apply to them too.

        shap's ``output_names`` names an output axis, which these values do
        not have (each example explains one output), so it is left unset; the
        explained output of each example is ``self.output_names``.

        Returns:
            shap.Explanation
        """
        from adl_keras.compat import import_shap

        shap = import_shap()
        values, data = np.asarray(self.values), np.asarray(self.data)
        names = list(self.feature_names) if self.feature_names is not None else None
        if self.kind == "sequence" and values.ndim == 3:
            steps, features = values.shape[1:]
            names = [f"{names[f] if names else f'x{f}'}@t{t}" for t in range(steps) for f in range(features)]
            values, data = values.reshape(len(values), -1), data.reshape(len(data), -1)
        return shap.Explanation(values=values, base_values=np.asarray(self.base_values, dtype="float64"),
                                data=data, feature_names=names)

    def summary(self):
        """A one-line description with timing and (if defined) additivity error."""
        text = f"{self.method} on {len(self)} {self.kind} example(s) in {self.seconds:.2f}s"
        if self.fallback:
            text += f" (fallback from {self.requested_method})"
        if self.is_additive:
            text += f", max additivity error {self.additivity_error():.2e}"
        return text
