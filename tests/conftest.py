import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")



import pytest  # noqa: E402


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real Fashion-MNIST Dataset. Tests using it fail in CI (CI=true, where
    `make test` installs Debian's dataset-fashion-mnist) and elsewhere skip
    with the message that says how to get the files."""
    from adl_keras import data
    from adl_keras.data.fashion_mnist import FashionMNISTUnavailableError

    try:
        return data.load("fashion_mnist")
    except FashionMNISTUnavailableError as missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
