"""Transfer-learning zoo entries.

* ``<arch>.imagenet``: ``keras.applications`` backbones (see
  :mod:`adl_keras.transfer.applications`) whose ImageNet weights come from
  their official URLs through the verified store. Their cards (``zoo/NAME/``)
  are written by :func:`write_imagenet_cards` and hold the
  URL and, where one is known, the sha256.
"""

import json

from adl_keras.transfer.applications import ARCHITECTURES, keras_application
from adl_keras.zoo import preprocessing as prep
from adl_keras.zoo.registry import register

IMAGENET_LICENCES = {
    "convnext_tiny": "MIT (facebookresearch/ConvNeXt weights, ported by Keras)",
    "mobilenet_v2": "Apache-2.0 (Keras Applications)",
    "resnet50": "MIT (fchollet/deep-learning-models, Keras Applications)",
    "efficientnet_b0": "Apache-2.0 (Keras Applications)",
}


def imagenet_entry_name(arch):
    return f"{arch}.imagenet"


for _arch, _spec in ARCHITECTURES.items():
    register(
        imagenet_entry_name(_arch),
        keras_application,
        build_kwargs={"arch": _arch, "input_shape": (224, 224, 3), "num_classes": 1000, "name": _arch},
        topic="transfer",
        task="image-classification",
        dataset="imagenet",
        input_shape=(224, 224, 3),
        licence=IMAGENET_LICENCES[_arch],
        preprocessing=prep.image(
            (224, 224, 3), None, value_range=(0, 255),
            inside_model=(f"ImageNetPreprocessing layer, mode {_spec['preprocessing']!r} (keras.applications' "
                          "preprocess_input)" if _spec["preprocessing"] else
                          f"{_spec['constructor']}'s own preprocessing layers (include_preprocessing=True)"),
            notes="the 1000 ImageNet-1k classes in keras.applications order; "
                  "keras.applications.imagenet_utils.decode_predictions names them (downloads its index once)"),
        description=(f"keras.applications {_spec['constructor']} with ImageNet weights from the official URL; "
                     "RGB [0, 255] input, preprocessing inside the model."),
        image=True,
        weights_url=_spec["url"],
    )


def write_imagenet_card(arch, root=None):
    """Writes ``zoo/<arch>.imagenet/{meta.json,README.md}`` for an external-weights entry.

    The weights are not shipped: the card points at the official URL and
    the hash Keras lists for the file (a sha256, or an md5 where Keras lists
    only that), which the store verifies on download.

    Args:
        arch: a key of ``ARCHITECTURES``.
        root: the zoo folder (default: the user zoo, ``$ADL_KERAS_HOME/zoo``;
            the installed package is never written unless passed here, e.g.
            ``root="zoo"`` in a source checkout).

    Returns:
        the meta dict.
    """
    from adl_keras.zoo import cards, registry, store

    spec = ARCHITECTURES[arch]
    entry = registry.get_entry(imagenet_entry_name(arch))
    model = entry.build()
    file = spec["url"].rsplit("/", 1)[-1]
    meta = {
        "name": entry.name,
        "description": entry.description,
        "topic": entry.topic,
        "task": entry.task,
        "dataset": {"name": "imagenet", "split": None},
        "input_shape": list(entry.input_shape),
        "build_kwargs": cards._jsonable(entry.build_kwargs),
        "params": int(model.count_params()),
        "weights": {"file": file, "sha256": spec["sha256"], "size": None, "url": spec["url"],
                    "hash_source": spec["hash_source"]},
        "metrics": {},
        "goals": [],
        "licence": entry.licence,
        "recipe": None,
        "preprocessing": cards._jsonable(entry.preprocessing),
        "training": {"source": "official keras.applications ImageNet weights (not retrained here)"},
        "versions": cards._versions(),
    }
    if spec.get("md5") and not spec["sha256"]:
        meta["weights"]["md5"] = spec["md5"]
    if spec["sha256"]:
        hash_line = f"| sha256 | `{spec['sha256']}` (from {spec['hash_source']}) |"
        load = f"model = adl_keras.zoo.load_model({entry.name!r})   # downloads and verifies once"
    elif spec.get("md5"):
        hash_line = (f"| md5 | `{spec['md5']}` (from {spec['hash_source']}); the store verifies this md5, "
                     "as keras.utils.get_file does. Pass weights=URL, sha256=... to pin a sha256 instead. |")
        load = f"model = adl_keras.zoo.load_model({entry.name!r})   # downloads and verifies (md5) once"
    else:
        hash_line = (f"| sha256 | **unknown**: {spec['hash_source']}. No sha256 could be obtained without "
                     "downloading the file, so none is recorded and pretrained loading is refused. |")
        load = (f"# compute the file's sha256 yourself on a trusted machine, then:\n"
                f"model = adl_keras.zoo.load_model({entry.name!r}, weights={spec['url']!r}, sha256=...)")
    card = "\n".join([
        f"# {entry.name}", "", entry.description, "",
        "| field | value |", "| --- | --- |",
        f"| topic | {entry.topic} |", f"| task | {entry.task} |",
        "| dataset | ImageNet-1k (weights trained by their authors, not by adl_keras) |",
        f"| input shape | {tuple(entry.input_shape)}, RGB in [0, 255] |",
        f"| parameters | {meta['params']:,} |",
        f"| weights | `{file}` from {spec['url']} (not shipped) |",
        hash_line,
        f"| licence | {entry.licence} |",
        "", *prep.render(entry.name, entry.preprocessing),
        "", "## Load", "", "```python", "import adl_keras", load, "```", "",
        "Offline (`ADL_KERAS_OFFLINE=1`) the file must already be in the cache "
        "(`adl_keras.zoo.store.cached_path(url, sha256=...)`, or `md5=...` for an md5-verified entry).", "",
    ])
    root = root if root is not None else store.user_zoo_dir()
    folder = cards.entry_dir(entry.name, root)
    store.atomic_write_bytes(folder / cards.META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    store.atomic_write_bytes(folder / cards.CARD_FILE, card.encode())
    cards.write_index(root)
    return meta


def write_imagenet_cards(root=None):
    """Writes the cards of every ``<arch>.imagenet`` entry; returns their names.

    Command (source checkout): ``python -c "from adl_keras.transfer.zoo_entries import write_imagenet_cards;
    write_imagenet_cards(root='zoo')"``
    """
    return [write_imagenet_card(arch, root)["name"] for arch in ARCHITECTURES]


def train_resnet_small_few_shot(shots, seed=0, progress=None, **config_overrides):
    """Recipe of ``resnet_small.digits{shots}shot``: two-phase fine-tuning of a
    verified pretrained backbone on ``shots`` digits per class.

    The configuration is :data:`adl_keras.transfer.few_shot.ENTRY_CONFIGS`
    (backbone and hyperparameters chosen on the digits validation split by
    ``benchmarks/bench_transfer_few_shot.py``); ``config_overrides`` replace
    its fields, e.g. ``head_epochs=1, epochs=1`` for a smoke run.
    """
    import dataclasses

    from adl_keras import zoo
    from adl_keras.transfer import few_shot

    config = dataclasses.replace(few_shot.ENTRY_CONFIGS[shots], **config_overrides)
    train, _ = few_shot.few_shot_split(config.shots, seed)
    model, result = few_shot.train_transfer(train, config, seed, two_phase=True, progress=progress)
    info = {
        "backbone": config.backbone,
        "backbone_sha256": zoo.model_info(config.backbone)["weights"]["sha256"],
        "labelled_examples": int(len(train[1])),
        "shots_per_class": config.shots,
        "config": dataclasses.asdict(config),
        "final_train_accuracy": float(result.fine_tune.history["accuracy"][-1]),
        "goals": [f"few-shot: beat training from scratch on the same {len(train[1])} labels "
                  "(benchmarks/results/transfer_few_shot.json, the learning curve)"],
    }
    return model, info


def train_resnet_small_digits10shot(seed=0, progress=None, **config_overrides):
    """Recipe of ``resnet_small.digits10shot`` (see :func:`train_resnet_small_few_shot`)."""
    return train_resnet_small_few_shot(10, seed, progress, **config_overrides)


def train_resnet_small_digits1shot(seed=0, progress=None, **config_overrides):
    """Recipe of ``resnet_small.digits1shot`` (see :func:`train_resnet_small_few_shot`)."""
    return train_resnet_small_few_shot(1, seed, progress, **config_overrides)


def _register_few_shot_entries():
    from adl_keras import training
    from adl_keras.transfer.few_shot import ENTRY_ARCHITECTURES, ENTRY_CONFIGS, resnet_small_digits

    recipes = {10: train_resnet_small_digits10shot, 1: train_resnet_small_digits1shot}
    for shots, recipe in recipes.items():
        config = ENTRY_CONFIGS[shots]
        arch = ENTRY_ARCHITECTURES[config.backbone]
        name = f"resnet_small.digits{shots}shot"
        adapter = f"resizes 8x8 to {arch['image_size']}x{arch['image_size']}" + (
            " and repeats grey to RGB" if arch["grey_to_rgb"] else " (stays grey)")
        register(
            name,
            resnet_small_digits,
            build_kwargs={"num_classes": 10, "input_shape": (8, 8, 1), **arch,
                          "name": name.replace(".", "_")},
            topic="transfer",
            task="image-classification",
            dataset="digits",
            input_shape=(8, 8, 1),
            recipe=recipe,
            evaluator=training.classification_evaluator("digits"),
            preprocessing=prep.image((8, 8, 1), [str(d) for d in range(10)], inside_model=adapter),
            description=f"{config.backbone} fine-tuned (two phases) to sklearn digits from {shots} labelled "
                        f"example{'s' if shots > 1 else ''} per class; {adapter} inside the model.",
            image=True,
        )


_register_few_shot_entries()
