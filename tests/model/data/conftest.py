import pytest

from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.synthetic import SynthConfig, generate


@pytest.fixture(scope="module")
def sequences(tmp_path_factory):
    """Two small synthetic RGB + thermal sequences with exact boxes and homographies."""
    out = tmp_path_factory.mktemp("synth")
    folders = generate(out, SynthConfig(frames=12, rgb_size=(160, 120), x_size=(128, 104), seed=2), 2)
    return [read_sequence(f, "synthetic") for f in folders]
