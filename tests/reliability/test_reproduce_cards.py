"""Finding 3 (slow): `adl-zoo train NAME` into a private user zoo, then
`adl-zoo evaluate NAME --against shipped`, agree for the entries whose recipes
take minutes on a 2-core CPU. The others (DQN, GANs, ImageNet-sized or
long recipes) are listed in README's "Security and integrity" section."""

import json

import pytest

from adl_keras import cli
from adl_keras.zoo import store

CHEAP = ["lenet5.digits", "mlp.wine", "mlp.breast_cancer", "qtable.frozenlake4x4", "dqn.cartpole",
         "resnet_small.digits10shot", "resnet_small.digits1shot"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CHEAP)
def test_train_then_evaluate_against_shipped(name, home, capsys):
    shipped = store.zoo_dir() / name / "meta.json"
    before = shipped.read_bytes()
    assert cli.main(["train", name]) == 0
    assert (home / "zoo" / name / "meta.json").exists()
    assert shipped.read_bytes() == before  # the installed package is never written
    capsys.readouterr()
    code = cli.main(["evaluate", name, "--against", "shipped", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["weights"] == "user" and report["against"] == "shipped"
    assert code == 0 and report["match"], report
