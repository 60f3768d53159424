import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("tf_agents", "shap", "lime", "tensorflow_datasets", "gymnasium", "gym", "tensorflow", "keras")


def test_import_is_light():
    code = ("import sys, adl_keras; import adl_keras.zoo.store, adl_keras.data; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert res.stdout.strip() == "[]", res.stdout


def test_listing_the_zoo_loads_no_optional_library():
    code = ("import sys, adl_keras; adl_keras.zoo.list_models(); adl_keras.zoo.model_info('lenet5.digits'); "
            "print([m for m in ('tf_agents', 'shap', 'lime', 'tensorflow_datasets', 'gymnasium') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
