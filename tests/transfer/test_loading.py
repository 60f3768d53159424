import numpy as np
import pytest

from adl_keras import transfer, zoo


def test_load_with_new_head_reports_only_the_classifier():
    model = transfer.load_model("lenet5.digits", num_classes=5)
    report = model.load_report
    assert report.loaded == ["conv1", "conv2", "head_fc1", "head_fc2"]
    assert [m[0] for m in report.mismatched] == ["predictions"] and report.reinitialised == ["predictions"]
    ref = zoo.load_model("lenet5.digits")
    np.testing.assert_array_equal(model.get_layer("conv2").kernel.numpy(), ref.get_layer("conv2").kernel.numpy())
    assert model.output.shape == (None, 5)


def test_same_num_classes_loads_everything():
    model = transfer.load_model("lenet5.digits", num_classes=10)
    assert not model.load_report.skipped and not model.load_report.mismatched


def test_partial_backbone_load_raises():
    # A wider input changes no weight shape for conv layers but does for head_fc1
    # (flattened features), which is a head layer: allowed. A different channel
    # count changes conv1's kernel: a backbone layer, refused.
    with pytest.raises(transfer.PartialLoadError, match="conv1"):
        transfer.load_model("lenet5.digits", input_shape=(8, 8, 3))
    model = transfer.load_model("lenet5.digits", input_shape=(8, 8, 3), strict=False)
    assert "conv1" in [m[0] for m in model.load_report.mismatched]


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        transfer.load_model("lenet5.digits", num_classes=0)
    with pytest.raises(KeyError, match="lenet5.digits"):
        transfer.load_model("lenet5.digitz")
