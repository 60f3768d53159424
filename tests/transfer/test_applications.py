"""keras.applications backbones: same outputs as Keras' own models, weights
through the verified store from a local HTTP server, offline error, head swap."""

import functools
import http.server
import json
import threading

import numpy as np
import pytest

from adl_keras import transfer, zoo
from adl_keras.transfer.applications import ARCHITECTURES, ImageNetPreprocessing, keras_application
from adl_keras.zoo import registry, store

SMALL = {"arch": "mobilenet_v2", "input_shape": (32, 32, 3), "num_classes": 7,
         "arch_kwargs": {"alpha": 0.35}, "name": "mnv2_small"}


def _images(n=2, size=32, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.mark.parametrize("mode", ["tf", "caffe", "torch"])
def test_preprocessing_layer_equals_keras_preprocess_input(mode):
    from keras.applications import imagenet_utils

    x = _images()
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(ImageNetPreprocessing(mode)(x), expected, atol=1e-4)


def test_preprocessing_layer_serialization_and_errors(tmp_path):
    # adl_keras.testing.check_layer is not used: its check_model passes the
    # model config to Functional.from_config, which consumes the dict in this
    # Keras (3.15), so the round-trip comparison fails for every model. The
    # same checks are done here by hand (reported to the lead).
    import copy

    import keras
    import tensorflow as tf

    layer = ImageNetPreprocessing("caffe")
    assert ImageNetPreprocessing.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, ImageNetPreprocessing("caffe")(inputs))
    config = model.get_config()
    assert keras.Model.from_config(copy.deepcopy(config)).get_config() == config
    x = _images(size=4)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0), expected, atol=1e-5)
    model.export(str(tmp_path / "sm"), format="tf_saved_model", verbose=False)
    np.testing.assert_allclose(tf.saved_model.load(str(tmp_path / "sm")).serve(tf.constant(x)), expected, atol=1e-4)
    with pytest.raises(ValueError, match="mode"):
        ImageNetPreprocessing("bgr")


def _calibrate_batchnorm(model, x):
    """Sets every BatchNormalization's moving statistics to its batch statistics on ``x``.

    With random weights and the initial statistics (mean 0, variance 1), the
    activations of these deep networks saturate and the output does not depend
    on the input at all (measured: 1e-8 between two random images), so an
    equality test would pass a wrapper that mangles its input. Calibrated
    statistics keep activations in range, as a trained network does.
    """
    import keras

    layers = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    momenta = [l.momentum for l in layers]
    for layer in layers:
        layer.momentum = 0.0  # moving statistics <- this batch's statistics
    model(x, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum


def _assert_depends_on_input(outputs):
    """Two different images give clearly different outputs (the comparison is not vacuous)."""
    assert np.max(np.abs(outputs[0] - outputs[1])) > 1e-3, outputs


@pytest.fixture(scope="module")
def keras_reference(tmp_path_factory):
    """Keras' own MobileNetV2 (alpha 0.35, 32x32, 7 classes), saved as a legacy .h5 like the official files."""
    import keras

    keras.utils.set_random_seed(3)
    ref = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7)
    _calibrate_batchnorm(ref, _images(n=8, seed=1) / 127.5 - 1)
    folder = tmp_path_factory.mktemp("served")
    path = folder / "mnv2_small.h5"
    ref.save(path)
    return ref, path


def test_wrapper_loads_keras_file_and_matches_keras_model(keras_reference):
    """Default run (~5 s): the MobileNetV2 wrapper equals Keras' own model with random
    weights loaded from a Keras-written .h5; the three larger wrappers are in the slow run."""
    ref, path = keras_reference
    model = keras_application(**SMALL)
    model.load_weights(str(path))
    x = _images()
    expected = ref.predict(x / 127.5 - 1, verbose=0)
    _assert_depends_on_input(expected)
    # float32 rounding (the in-graph x / 127.5 - 1 vs numpy's) moves the calibrated network's outputs
    # by ~1e-5; dividing by 128 instead moves them by 0.16
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-4)
    info = transfer.check_surface(model)
    assert info["stages"] == [f"stage{i}" for i in range(1, 6)] and info["num_features"] == 1280


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A small conventions model's weights served by http.server on 127.0.0.1, and a zoo entry pointing at them."""
    import keras

    from tests.transfer.conftest import tiny_bn_cnn

    keras.utils.set_random_seed(4)
    reference = tiny_bn_cnn(num_classes=4)
    folder = tmp_path / "served"
    folder.mkdir()
    path = folder / "tiny.weights.h5"
    reference.save_weights(path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
    name = "tiny.served"
    registry.register(name, tiny_bn_cnn, build_kwargs={"num_classes": 4}, topic="transfer",
                      task="image-classification", dataset="none", input_shape=(8, 8, 3), image=True,
                      weights_url=url)
    monkeypatch.setenv("ADL_KERAS_ZOO", str(tmp_path / "zoo"))
    monkeypatch.setenv("ADL_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ADL_KERAS_OFFLINE", raising=False)

    def write_card(sha256):
        card = tmp_path / "zoo" / name
        card.mkdir(parents=True, exist_ok=True)
        (card / "meta.json").write_text(json.dumps(
            {"name": name, "weights": {"file": path.name, "sha256": sha256, "size": None, "url": url}}))

    write_card(store.sha256_of(path))
    try:
        yield {"name": name, "url": url, "path": path, "write_card": write_card, "reference": reference}
    finally:
        server.shutdown()
        server.server_close()
        registry._REGISTRY.pop(name, None)


def test_download_verify_load_and_head_swap(served):
    ref = served["reference"]
    model = zoo.load_model(served["name"])
    x = _images(size=8, seed=5) / 255.0
    np.testing.assert_allclose(model.predict(x, verbose=0), ref.predict(x, verbose=0), atol=1e-6)
    assert store.cached_path(served["url"], store.sha256_of(served["path"])).exists()
    swapped = transfer.load_model(served["name"], num_classes=3)
    assert swapped.output.shape == (None, 3)
    assert swapped.load_report.reinitialised == ["predictions"] and not swapped.load_report.skipped
    for name in ("conv1", "bn2", "head_fc"):
        for a, b in zip(swapped.get_layer(name).weights, ref.get_layer(name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_wrong_hash_is_refused_and_nothing_is_cached(served):
    served["write_card"]("0" * 64)
    with pytest.raises(zoo.WeightsIntegrityError, match="expected sha256 0000"):
        zoo.load_model(served["name"])
    assert not any(p.is_file() for p in store.cache_dir().rglob("*"))


def test_offline_error_then_cached_file_works_offline(served, monkeypatch):
    monkeypatch.setenv("ADL_KERAS_OFFLINE", "1")
    with pytest.raises(zoo.OfflineError, match="ADL_KERAS_OFFLINE"):
        zoo.load_model(served["name"])
    monkeypatch.delenv("ADL_KERAS_OFFLINE")
    zoo.load_model(served["name"])  # downloads into the cache
    monkeypatch.setenv("ADL_KERAS_OFFLINE", "1")
    assert zoo.load_model(served["name"]).load_report.loaded


def test_imagenet_entries_cards_and_hashes():
    from keras.src.applications import convnext, efficientnet, resnet

    assert zoo.model_info("convnext_tiny.imagenet")["weights"]["sha256"] == convnext.WEIGHTS_HASHES["convnext_tiny"][0]
    # Keras lists only md5s for these files (include_top variant first).
    assert zoo.model_info("resnet50.imagenet")["weights"]["md5"] == resnet.WEIGHTS_HASHES["resnet50"][0]
    assert zoo.model_info("efficientnet_b0.imagenet")["weights"]["md5"] == efficientnet.WEIGHTS_HASHES["b0"][0]
    for arch, spec in ARCHITECTURES.items():
        info = zoo.model_info(f"{arch}.imagenet")
        assert info["weights"]["url"] == spec["url"] and info["weights"]["sha256"] == spec["sha256"]
        assert info["weights"].get("md5") == spec.get("md5")
        assert info["pretrained"] == (arch != "mobilenet_v2")
    # No hash known at all: pretrained loading is refused with what to do.
    with pytest.raises(zoo.WeightsError, match="sha256"):
        transfer.load_model("mobilenet_v2.imagenet")


def test_md5_card_downloads_verifies_and_refuses_a_wrong_file(served):
    """An entry whose card records only a publisher md5 (like resnet50.imagenet) loads through the store."""
    import hashlib

    card = json.loads((zoo.cards.entry_dir(served["name"]) / "meta.json").read_text())
    card["weights"]["sha256"] = None
    card["weights"]["md5"] = hashlib.md5(served["path"].read_bytes()).hexdigest()
    (zoo.cards.entry_dir(served["name"]) / "meta.json").write_text(json.dumps(card))
    model = zoo.load_model(served["name"])
    x = _images(size=8, seed=6) / 255.0
    np.testing.assert_allclose(model.predict(x, verbose=0), served["reference"].predict(x, verbose=0), atol=1e-6)
    card["weights"]["md5"] = "f" * 32
    (zoo.cards.entry_dir(served["name"]) / "meta.json").write_text(json.dumps(card))
    with pytest.raises(zoo.WeightsIntegrityError, match="expected md5 ffff"):
        zoo.load_model(served["name"])  # cached under the md5, so this one downloads again and is refused
    assert not store.cached_path(served["url"], md5="f" * 32).exists()


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["resnet50", "efficientnet_b0", "convnext_tiny"])
def test_other_wrappers_match_keras_models(arch, tmp_path):
    import keras

    spec = ARCHITECTURES[arch]
    ref = getattr(keras.applications, spec["constructor"])(input_shape=(64, 64, 3), weights=None, classes=5,
                                                          **spec["kwargs"])
    pre = (lambda v: keras.applications.resnet50.preprocess_input(v.copy())) if arch == "resnet50" else (lambda v: v)
    _calibrate_batchnorm(ref, pre(_images(n=8, size=64, seed=1)))
    ref.save(tmp_path / "ref.h5")
    model = keras_application(arch, input_shape=(64, 64, 3), num_classes=5)
    model.load_weights(str(tmp_path / "ref.h5"))
    x = _images(size=64)
    expected = ref.predict(pre(x), verbose=0)
    _assert_depends_on_input(expected)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-4)
    transfer.check_surface(model)
