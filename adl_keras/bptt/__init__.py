"""BPTT topic: explicit backpropagation through time with the delta recursion
(checked against autodiff), truncated BPTT(k1, k2) inside ``model.fit``,
per-timestep gradient-norm diagnostics and gradient clipping."""

from adl_keras.bptt.clipping import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm
from adl_keras.bptt.diagnostics import (
    compare_gradient_flow,
    hidden_gradient_norms,
    make_cell,
    plot_gradient_norms,
)
from adl_keras.bptt.explicit import BPTTResult, explicit_bptt, explicit_bptt_loss, forward_trace
from adl_keras.bptt.truncated import TruncatedBPTTModel, chunk_bounds

__all__ = [
    "BPTTResult",
    "TruncatedBPTTModel",
    "chunk_bounds",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "compare_gradient_flow",
    "explicit_bptt",
    "explicit_bptt_loss",
    "forward_trace",
    "global_norm",
    "hidden_gradient_norms",
    "make_cell",
    "plot_gradient_norms",
]
