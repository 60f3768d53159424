"""Every custom layer and model is known to Keras after ``import adl_keras``,
without ``import adl_keras`` importing Keras or TensorFlow.

A ``.keras`` file names its custom objects by registered name
(``"adl_keras>Conv2D"``), and Keras finds them only in its table of
registered objects, which the ``@register_keras_serializable`` decorators fill
when their module is imported. So that a file exported from any zoo entry
loads after ``import adl_keras`` alone, that table
(``keras.src.saving.object_registration.GLOBAL_CUSTOM_OBJECTS``; Keras 3.15,
which reads it through the module attribute at every lookup) is replaced by a
dict that, asked for an unknown ``adl_keras>`` name, first imports the modules
of :data:`CUSTOM_OBJECT_MODULES`. If Keras is not imported yet, a finder on
``sys.meta_path`` makes that swap right after Keras creates the table.

:func:`register_all` imports those modules directly (what a program that
inspects the table itself may want).
"""

import importlib
import importlib.machinery
import sys

PACKAGE_PREFIX = "adl_keras>"
_TARGET = "keras.src.saving.object_registration"

# Every module with a @keras.saving.register_keras_serializable(package="adl_keras");
# tests/test_registration.py checks that the list is complete.
CUSTOM_OBJECT_MODULES = (
    "adl_keras.conv.layers",
    "adl_keras.conv.builders",
    "adl_keras.rnn.cells",
    "adl_keras.rnn.layers",
    "adl_keras.gan.builders",
    "adl_keras.gan.model",
    "adl_keras.bptt.truncated",
    "adl_keras.rl.qnetworks",
    "adl_keras.transfer.applications",
    "adl_keras.transfer.layerwise",
)

_loading = False


def register_all():
    """Imports every module that registers adl_keras custom objects with Keras.

    Returns:
        Sorted list of the registered names (``"adl_keras>..."``).
    """
    global _loading
    _loading = True
    try:
        for module in CUSTOM_OBJECT_MODULES:
            importlib.import_module(module)
    finally:
        _loading = False
    from keras.src.saving import object_registration

    return sorted(k for k in object_registration.GLOBAL_CUSTOM_OBJECTS if k.startswith(PACKAGE_PREFIX))


class _LazyCustomObjects(dict):
    """Keras' table of registered objects, completed on the first miss of an adl_keras name."""

    def _complete(self, key):
        if (not _loading and isinstance(key, str) and key.startswith(PACKAGE_PREFIX)
                and not dict.__contains__(self, key)):
            register_all()

    def __contains__(self, key):
        self._complete(key)
        return dict.__contains__(self, key)

    def __getitem__(self, key):
        self._complete(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._complete(key)
        return dict.get(self, key, default)


def _patch(module):
    if not isinstance(module.GLOBAL_CUSTOM_OBJECTS, _LazyCustomObjects):
        module.GLOBAL_CUSTOM_OBJECTS = _LazyCustomObjects(module.GLOBAL_CUSTOM_OBJECTS)


class _KerasRegistryFinder:
    """Finds nothing itself; wraps the loader of Keras' registry module so the
    table is swapped as soon as the module has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)
            uninstall()

        spec.loader.exec_module = exec_module
        return spec

    # Finders must be hashable and comparable for sys.meta_path.remove().
    def __eq__(self, other):
        return isinstance(other, _KerasRegistryFinder)

    def __hash__(self):
        return hash(_KerasRegistryFinder)


def install():
    """Makes adl_keras' custom objects resolvable by Keras from now on (idempotent)."""
    module = sys.modules.get(_TARGET)
    if module is not None:
        _patch(module)
    elif _KerasRegistryFinder() not in sys.meta_path:
        sys.meta_path.insert(0, _KerasRegistryFinder())


def uninstall():
    """Removes the import-time finder (the swapped table stays)."""
    while _KerasRegistryFinder() in sys.meta_path:
        sys.meta_path.remove(_KerasRegistryFinder())
