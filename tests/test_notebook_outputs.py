"""The stored-outputs comparison used by tests/test_notebooks.py: noise passes, changed results fail."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from adl_keras.testing import notebooks as nbtools


def _nb(*cells):
    return new_notebook(cells=[new_code_cell(source="x", outputs=list(outputs)) for outputs in cells])


def _out(text):
    return new_output("stream", name="stdout", text=text)


def _png():
    return new_output("display_data", data={"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure size 640x480 with 1 Axes>"})


def test_same_outputs_and_run_to_run_noise_agree():
    stored = _nb([_out("loss 0.31245 accuracy 0.9500\n"), _png()],
                 [_out("Epoch 1/2\n12/12 - 1s - 83ms/step - loss: 0.5\nfit took 3.2 s\n")])
    fresh = _nb([_out("loss 0.31250 accuracy 0.9500\n"), _png()],
                [_out("Epoch 1/2\n12/12 - 2s - 140ms/step - loss: 0.7\nfit took 9.9 s\n")])
    assert nbtools.compare_outputs(stored, fresh) == []


def test_changed_numbers_words_and_images_are_reported():
    stored = _nb([_out("accuracy 0.95\n"), _png()], [_out("digits: 10 classes\n")])
    assert "numbers differ" in nbtools.compare_outputs(stored, _nb([_out("accuracy 0.80\n"), _png()],
                                                                   [_out("digits: 10 classes\n")]))[0]
    assert "image(s)" in nbtools.compare_outputs(stored, _nb([_out("accuracy 0.95\n")],
                                                             [_out("digits: 10 classes\n")]))[0]
    assert "text differs" in nbtools.compare_outputs(stored, _nb([_out("accuracy 0.95\n"), _png()],
                                                                 [_out("digits: 10 labels\n")]))[0]
    assert "code cells" in nbtools.compare_outputs(stored, _nb([_out("accuracy 0.95\n"), _png()]))[0]


def test_progress_lines_addresses_and_stderr_are_masked():
    stored = _nb([_out("step 1\rstep 2\rdone 5\n<Model at 0x7f00aa11bb22>\n"),
                  new_output("stream", name="stderr", text="warning A\n")])
    fresh = _nb([_out("done 5\n<Model at 0x7fffee0099cc>\n"), new_output("stream", name="stderr", text="other\n")])
    assert nbtools.compare_outputs(stored, fresh) == []


def test_has_outputs_and_shrink_images_keep_a_valid_png():
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    nb = _nb([new_output("display_data", data={"image/png": base64.b64encode(buf.getvalue()).decode()})])
    assert nbtools.has_outputs(nb) and not nbtools.has_outputs(_nb([]))
    nbtools.shrink_images(nb)
    from PIL import Image

    small = base64.b64decode(nb.cells[0].outputs[0]["data"]["image/png"])
    assert len(small) < len(buf.getvalue())
    assert Image.open(io.BytesIO(small)).size == Image.open(io.BytesIO(buf.getvalue())).size
    nbformat.validate(nb)
