"""``make demo`` (adl_keras.demo): re-measures entries, round-trips them through
SavedModel and reports the Fashion-MNIST entries beside the dataset's anchors."""

import pytest

from adl_keras import demo


@pytest.mark.slow  # ~7 s: a 10,000-image evaluation and a SavedModel export (default-run budget)
def test_demo_remeasures_and_reports_fashion_beside_anchors(fashion_mnist, capsys):
    assert demo.main(["lenet5.fashion_mnist"]) == 0
    out = capsys.readouterr().out
    assert "1/1 entries reproduce their cards" in out
    fashion = out.split("Real data:")[1]
    assert demo.FASHION_ANCHORS in fashion and "2-conv CNN 0.922" in fashion
    assert "lenet5.fashion_mnist" in fashion and "accuracy 0.9097 (card 0.9097)" in fashion


def test_demo_reports_a_changed_card(monkeypatch, capsys):
    from adl_keras import zoo

    real = zoo.evaluate

    def card_mismatch(name, model=None, **kwargs):
        report = real(name, model=model, **kwargs)
        for m in report["metrics"].values():
            m["match"] = False
        report["match"] = False
        return report

    monkeypatch.setattr(zoo, "evaluate", card_mismatch)
    assert demo.main(["lenet5.digits"]) == 1
    out = capsys.readouterr().out
    assert "BAD lenet5.digits" in out and "Real data:" not in out
