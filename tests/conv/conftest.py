import copy

import pytest


@pytest.fixture(autouse=True)
def _functional_from_config_copies_its_input(monkeypatch):
    """Work around a foundation harness bug (reported to the lead).

    ``keras.Model.from_config`` consumes (pops from) the config dict it is
    given, so ``adl_keras.testing.check_model``'s round-trip check
    ``from_config(config).get_config() == config`` compares against an
    emptied dict and fails for every functional model. The fix belongs in
    the harness (``from_config(copy.deepcopy(config))``); until it lands,
    these tests pass a copy by wrapping ``Model.from_config``.
    """
    from keras.src.models.model import Model

    original = Model.__dict__["from_config"].__func__

    def from_config(cls, config, custom_objects=None):
        return original(cls, copy.deepcopy(config), custom_objects=custom_objects)

    monkeypatch.setattr(Model, "from_config", classmethod(from_config))
