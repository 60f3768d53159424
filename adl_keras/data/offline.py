"""Offline datasets from data that scikit-learn ships (nothing downloads)."""

import numpy as np

from adl_keras.data import Dataset, register_dataset, split_indices


def _split(name, x, y, num_classes, info, seed=0):
    tr, va, te = split_indices(y, seed=seed)
    return Dataset(name, (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]), num_classes,
                   {**info, "split_seed": seed, "split": "stratified 60/20/20"})


@register_dataset("digits")
def digits():
    """scikit-learn's 8x8 handwritten digits (1,797 images, UCI ML repository,
    CC BY 4.0), scaled to [0, 1], shape (8, 8, 1), labels 0-9."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype("float32")[..., None]
    y = d.target.astype("int32")
    return _split("digits", x, y, 10, {"source": "sklearn.datasets.load_digits", "licence": "CC BY 4.0"})


def _standardised(name, bunch):
    x = bunch.data.astype("float32")
    y = bunch.target.astype("int32")
    ds = _split(name, x, y, int(y.max()) + 1, {"source": f"sklearn.datasets.load_{name}",
                                               "feature_names": list(bunch.feature_names),
                                               "target_names": [str(t) for t in bunch.target_names]})
    mean, std = ds.train[0].mean(0), ds.train[0].std(0) + 1e-8
    for split in ("train", "val", "test"):
        xs, ys = getattr(ds, split)
        setattr(ds, split, (((xs - mean) / std).astype("float32"), ys))
    ds.info.update(standardised_with="train mean/std", mean=mean.tolist(), std=std.tolist())
    return ds


@register_dataset("breast_cancer")
def breast_cancer():
    """Wisconsin breast cancer (569 x 30 features, 2 classes), standardised."""
    from sklearn.datasets import load_breast_cancer

    return _standardised("breast_cancer", load_breast_cancer())


@register_dataset("wine")
def wine():
    """UCI wine (178 x 13 features, 3 classes), standardised."""
    from sklearn.datasets import load_wine

    return _standardised("wine", load_wine())


@register_dataset("sample_images")
def sample_images():
    """scikit-learn's two 427x640 RGB photos (china, flower) in [0, 1].

    There are only two images, so every split holds both; labels are 0, 1.
    """
    from sklearn.datasets import load_sample_images

    imgs = np.stack(load_sample_images().images).astype("float32") / 255.0
    y = np.arange(len(imgs), dtype="int32")
    return Dataset("sample_images", (imgs, y), (imgs, y), (imgs, y), 2,
                   {"source": "sklearn.datasets.load_sample_images"})
