"""fine_tune behaves like fit: callbacks, validation_data, verbose, fit
arguments passed through, both phases' histories joined."""

import keras
import pytest

from adl_keras import transfer


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_fine_tune_passes_callbacks_and_fit_arguments_and_joins_histories(tiny_model, tiny_data):
    x, y = tiny_data
    count = _Count()
    cfg = transfer.FineTuneConfig(head_epochs=2, epochs=1, batch_size=16)
    result = transfer.fine_tune(tiny_model, (x, y), validation_data=(x[:16], y[:16]), config=cfg,
                                callbacks=[count], verbose=0, shuffle=False)
    assert count.epochs == 3
    assert result.history["phase"] == ["head", "head", "fine_tune"] and len(result.history["val_loss"]) == 3
    with pytest.raises(ValueError, match="once"):
        transfer.fine_tune(tiny_model, (x, y), (x, y), cfg, validation_data=(x, y))
