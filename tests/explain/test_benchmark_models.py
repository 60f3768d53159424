"""Committed explanation benchmarks were measured on the weights now shipped.

A deletion AUC or a LIME time is a property of one set of weights: re-shipping
a model without re-running its benchmark case would leave a figure that no
longer describes the zoo. Each result records its model's weights sha256.
"""

import json
from pathlib import Path

import pytest

from adl_keras.zoo import cards

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
CASES = sorted(p.name for pattern in ("xai_deletion_auc*.json", "lime_image_speed*.json")
               for p in RESULTS.glob(pattern))


def test_the_cases_are_found():
    assert {"xai_deletion_auc_resnet_small_fashion_mnist.json", "lime_image_speed_resnet_fashion.json"} <= set(CASES)
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES)
def test_result_was_measured_on_the_shipped_weights(case):
    details = json.loads((RESULTS / case).read_text())["details"]
    assert "model_sha256" in details, f"{case} does not record its model's sha256"
    shipped = cards.read_meta(details["model"])["weights"]["sha256"]
    assert details["model_sha256"] == shipped, (
        f"{case} was measured on {details['model']} weights {details['model_sha256'][:12]}, "
        f"but {shipped[:12]} are shipped: re-run its benchmark")
