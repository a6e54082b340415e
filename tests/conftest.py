"""Shared test fixtures.

Real data lives in ``../shared/data`` beside the checkout (never copied into
the repository). Tests that need it use the fixtures below, which skip with
the reason when the folder is absent. ``MSFAM_SHARED_DATA`` overrides the path.
"""
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('MSFAM_SHARED_DATA',
                                  REPO_ROOT.parent / 'shared' / 'data'))

# Two cores: keep intra-op threads fixed so timings and results are stable.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session', autouse=True)
def _private_graph_cache(tmp_path_factory):
    """Exported fusion graphs are cached per user (msfam_mm.deploy); the
    tests keep theirs in a temporary folder of their own."""
    os.environ['MSFAM_CACHE_DIR'] = str(tmp_path_factory.mktemp('onnx_cache'))


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Every test starts from the same random state, whatever ran before
    it, so a draw that happens to fail cannot come and go with test order
    (an unseeded draw once made a GFLV2 head test fail 6 times in 40)."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_default_scope():
    """Every test starts without an mmengine default scope and leaves the
    state as it found it. The scope decides which registries a build
    searches (msfam_mm's for the fusion core, MMDetection's for the
    detection layer), so a Runner or ``init_default_scope`` in one test
    would otherwise decide what the next test can build. Tests that build
    configs (pipelines, data preprocessors) name their scope with the
    ``msfam_mm_scope`` or ``mmdet_scope`` fixture, as a Runner would."""
    from mmengine.registry import DefaultScope

    # mmengine's own DefaultScope.overwrite_default_scope saves and
    # restores this dict the same way
    saved = DefaultScope._instance_dict.copy()
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


@pytest.fixture
def msfam_mm_scope():
    """The fusion configs' default scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('msfam_mm')


@pytest.fixture
def mmdet_scope():
    """The detection configs' default scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.is_dir():
        pytest.skip(f'real data folder {path} is absent '
                    '(expected ../shared/data beside the checkout)')
    return path


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool(name)``: the module of ``tools/<name>.py`` (tools/ is
    not a package; the tools import each other by name, so it goes on
    ``sys.path``)."""
    import importlib.util
    import sys

    def load(name: str):
        tools = str(REPO_ROOT / 'tools')
        if tools not in sys.path:
            sys.path.insert(0, tools)
        spec = importlib.util.spec_from_file_location(
            f'_tool_{name}', REPO_ROOT / 'tools' / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope='session')
def tno42() -> Path:
    return _shared('tno42')


@pytest.fixture(scope='session')
def tno42_fusions() -> Path:
    return _shared('tno42_published_fusions')


@pytest.fixture(scope='session')
def roadscene221() -> Path:
    return _shared('roadscene221')


@pytest.fixture(scope='session')
def kaist_sample() -> Path:
    return _shared('kaist_sample')


@pytest.fixture(scope='session')
def kaist_improved_annotations() -> Path:
    return _shared('kaist_annotations_improved_test')
