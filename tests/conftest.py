"""Suite-wide isolation: user-trained Neural ISP weights (engine.isp.neural.finetune) go to a
temporary folder, never to the developer's own ~/.local/share/smallpix/weights."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _user_weights_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SMALLPIX_USER_WEIGHTS", str(tmp_path_factory.mktemp("user_weights")))
    yield
    mp.undo()
