import dataclasses
import json

import numpy as np
import pytest

from adl_keras import transfer, zoo
from adl_keras.transfer import few_shot


def test_pretrained_digits_model_carries_the_backbone_weights():
    source = zoo.load_model(few_shot.BACKBONE)
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0)
    assert model.load_report.skipped == ["predictions"]
    for layer in source.layers:
        if layer.weights and layer.name != "predictions":
            for a, b in zip(model.get_layer(layer.name).weights, layer.weights):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert transfer.check_surface(model)["stages"] == ["stage1", "stage2", "stage3"]
    # The adapter: 8x8 grey -> 32x32 RGB with three equal channels.
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype("float32")
    import keras

    rgb = keras.Model(model.inputs, model.get_layer("grey_to_rgb").output).predict(x, verbose=0)
    assert rgb.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_few_shot_split_is_balanced_and_seeded():
    (x, y), (xt, yt) = few_shot.few_shot_split(shots=3, seed=1)
    assert x.shape == (30, 8, 8, 1) and np.bincount(y).tolist() == [3] * 10
    (x2, _), _ = few_shot.few_shot_split(shots=3, seed=1)
    np.testing.assert_array_equal(x, x2)
    assert len(yt) == 360
    with pytest.raises(ValueError, match="shots"):
        few_shot.FewShotConfig(shots=0)


@pytest.mark.slow
def test_run_seed_short():
    cfg = few_shot.FewShotConfig(shots=2, scratch_epochs=2, head_epochs=2, epochs=2)
    out = few_shot.run_seed(0, cfg)
    assert set(out) == {"scratch", "frozen", "fine_tune"} and all(0 <= v <= 1 for v in out.values())


def test_backbone_and_eval_split_are_configurable():
    assert few_shot.FewShotConfig().backbone == few_shot.BACKBONE == "resnet_small.glyphs32"
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0, backbone="resnet_small.shapes32")
    source = zoo.load_model("resnet_small.shapes32")
    np.testing.assert_array_equal(model.get_layer("stem_conv").weights[0].numpy(),
                                  source.get_layer("stem_conv").weights[0].numpy())
    _, (xv, yv) = few_shot.few_shot_split(shots=2, seed=0, split="val")
    assert len(yv) == 359
    with pytest.raises(ValueError, match="split"):
        few_shot.few_shot_split(shots=2, seed=0, split="holdout")


def test_fashion_mnist_backbone_keeps_digits_grey_at_28x28():
    from adl_keras.zoo import cards

    if not cards.weights_shipped("resnet_small.fashion_mnist"):
        pytest.skip("resnet_small.fashion_mnist has no shipped weights")
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0, backbone="resnet_small.fashion_mnist")
    source = zoo.load_model("resnet_small.fashion_mnist")
    names = [layer.name for layer in model.layers]
    assert "grey_to_rgb" not in names and model.get_layer("resize").output.shape == (None, 28, 28, 1)
    for name in ("stem_conv", "stage3_block1_conv2"):
        for a, b in zip(model.get_layer(name).weights, source.get_layer(name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert model.load_report.skipped == ["predictions"]


def test_bootstrap_interval_of_the_median():
    assert few_shot.bootstrap_median_ci([0.5] * 10) == (0.5, 0.5)
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    low, high = few_shot.bootstrap_median_ci(values)
    assert low < np.median(values) < high and min(values) <= low and high <= max(values)
    assert (low, high) == few_shot.bootstrap_median_ci(values)            # seeded
    assert few_shot.bootstrap_median_ci(values, level=0.5)[1] - few_shot.bootstrap_median_ci(values, level=0.5)[0] \
        < high - low
    with pytest.raises(ValueError, match="values"):
        few_shot.bootstrap_median_ci([])


def test_summarise_pairs_the_gain_per_seed():
    per_seed = [{"scratch": 0.2 + 0.01 * s, "probe": 0.3, "fine_tune": 0.5 + 0.01 * s} for s in range(10)]
    out = few_shot.summarise(per_seed)
    assert out["probe"] == {"median": 0.3, "ci95": [0.3, 0.3]}
    # same seed-to-seed variation in (a) and (c): the paired gain is exactly 30 points for every seed
    assert out["fine_tune_minus_scratch_points"]["ci95"] == pytest.approx([30.0, 30.0])
    assert out["scratch"]["ci95"][0] < out["scratch"]["median"] < out["scratch"]["ci95"][1]


def test_curve_config_checks():
    with pytest.raises(ValueError, match="selection_seeds"):
        few_shot.CurveConfig(seeds=(0, 1), selection_seeds=(1, 2))
    with pytest.raises(ValueError, match="shots"):
        few_shot.CurveConfig(shots=(0, 1))


@pytest.mark.slow
def test_curve_runner_resets_between_fits_and_starts_fine_tuning_from_the_probe():
    runner = few_shot.CurveRunner("resnet_small.glyphs32")
    idx = runner.shots(1, 3)
    (x, y), _ = few_shot.few_shot_split(1, 3)
    np.testing.assert_array_equal(runner.digits.train[0][idx], x)            # the same draw as few_shot_split
    first = runner.accuracy(runner.scratch(idx, 3e-3, 4, seed=3)[0], "val")
    runner.scratch(runner.shots(1, 4), 1e-2, 8, seed=4)                       # another fit in between
    assert runner.accuracy(runner.scratch(idx, 3e-3, 4, seed=3)[0], "val") == first
    head, _ = runner.probe(idx, 1e-2, 5, seed=3)
    model, history = runner.fine_tune(idx, {"learning_rate": 1e-2, "updates": 5}, 1e-3, 2, False, 3, "val", [1, 2])
    assert len(history.history["val_accuracy"]) == 2
    # the probe's accuracy on cached features is the fine-tuning model's before phase 2
    model, _ = runner.fine_tune(idx, {"learning_rate": 1e-2, "updates": 5}, 1e-3, 1, False, 3)
    runner._reset(model, runner._pretrained_weights, 1e-3)
    model.get_layer("predictions").set_weights(head.get_layer("predictions").get_weights())
    assert runner.accuracy(model, "val") == pytest.approx(runner.accuracy(head, "val", features=True), abs=1e-9)


def test_entry_architectures_match_the_backbone_cards():
    from adl_keras.transfer import zoo_entries  # noqa: F401  (registers the entries)

    for backbone, arch in few_shot.ENTRY_ARCHITECTURES.items():
        assert few_shot.digits_architecture(backbone) == arch
    for shots, config in few_shot.ENTRY_CONFIGS.items():
        entry = zoo.get_entry(f"resnet_small.digits{shots}shot")
        assert config.shots == shots and entry.recipe is not None
        assert {k: entry.build_kwargs[k] for k in few_shot.ENTRY_ARCHITECTURES[config.backbone]} == \
            few_shot.ENTRY_ARCHITECTURES[config.backbone]


def test_curve_benchmark_reruns_pieces_of_a_reshipped_backbone(tmp_path, monkeypatch):
    """A saved (backbone, k) piece is reused only if it was measured on the backbone weights now shipped."""
    from benchmarks import bench_transfer_few_shot as bench

    monkeypatch.setenv("ADL_KERAS_HOME", str(tmp_path))
    config = few_shot.CurveConfig(shots=(1,), backbones=(few_shot.BACKBONE,))
    sha = bench._backbone_sha256(few_shot.BACKBONE)
    assert sha == zoo.model_info(few_shot.BACKBONE)["weights"]["sha256"]
    bench._save_piece(config, few_shot.BACKBONE, 1, {"backbone_sha256": "0" * 64, "summary": {}})
    results = bench._load_work(config)["results"]
    assert bench._current(results, few_shot.BACKBONE, 1, sha) is None  # stale weights: run again
    bench._save_piece(config, few_shot.BACKBONE, 1, {"backbone_sha256": sha, "summary": {}})
    results = bench._load_work(config)["results"]
    assert bench._current(results, few_shot.BACKBONE, 1, sha)["backbone_sha256"] == sha
    assert bench._current(results, few_shot.BACKBONE, 2, sha) is None  # never run
    assert (tmp_path / "benchmarks" / f"{bench.NAME}.work.json").exists()


def test_curve_benchmark_resumes_from_the_committed_result(tmp_path, monkeypatch):
    """With no work file (a fresh clone), the committed JSON's pieces are reused, per backbone sha256."""
    from benchmarks import bench_transfer_few_shot as bench

    monkeypatch.setenv("ADL_KERAS_HOME", str(tmp_path))
    config = few_shot.CurveConfig(shots=(1,), backbones=(few_shot.BACKBONE,))
    sha = bench._backbone_sha256(few_shot.BACKBONE)
    committed = tmp_path / "committed.json"
    curves = {few_shot.BACKBONE: {"1": {"backbone_sha256": sha, "summary": {"scratch": {"median": 0.5}}}}}
    details = {"config": json.loads(json.dumps(dataclasses.asdict(config))), "curves": curves}
    committed.write_text(json.dumps({"details": details}))
    results = bench._load_work(config, committed)["results"]
    assert bench._current(results, few_shot.BACKBONE, 1, sha)["summary"]["scratch"]["median"] == 0.5
    assert bench._current(results, few_shot.BACKBONE, 1, "0" * 64) is None  # a re-shipped backbone runs again
    other = few_shot.CurveConfig(shots=(1, 2), backbones=(few_shot.BACKBONE,))
    assert bench._load_work(other, committed)["results"] == {}  # another configuration: nothing reused
    # A saved work file of the same configuration takes precedence over the committed result.
    bench._save_piece(config, few_shot.BACKBONE, 1, {"backbone_sha256": sha, "summary": {}})
    assert bench._load_work(config, committed)["results"][few_shot.BACKBONE]["1"]["summary"] == {}


def test_curve_benchmark_rejects_an_unknown_backbone(tmp_path, monkeypatch):
    from benchmarks import bench_transfer_few_shot as bench

    monkeypatch.setenv("ADL_KERAS_HOME", str(tmp_path))
    config = few_shot.CurveConfig(shots=(1,), backbones=(few_shot.BACKBONE,))
    with pytest.raises(ValueError, match=r"backbones=\['resnet_small.shapes32'\]"):
        bench.main(["resnet_small.shapes32"], config=config)
    assert not (tmp_path / "benchmarks").exists()  # nothing run, nothing written
