"""AutocastOptimWrapper: --amp on CPU runs the forward pass in bfloat16 and
the optimiser step in float32."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

import msfam_mm  # noqa: F401  (registers everything)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def test_autocast_optim_wrapper_runs_bf16_on_cpu():
    """--amp on CPU: the forward pass runs in bfloat16, the step in fp32."""
    from mmengine.model import BaseModel

    seen = {}

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 1)

        def forward(self, inputs, data_samples=None, mode='loss'):
            out = self.fc(inputs)
            seen['dtype'] = out.dtype
            return dict(loss=out.float().pow(2).mean())

    model = Tiny()
    optim = build_optim_wrapper(model, dict(
        type='AutocastOptimWrapper', dtype='bfloat16',
        optimizer=dict(type='Adam', lr=1e-2)))
    before = model.fc.weight.detach().clone()
    model.train_step(dict(inputs=torch.rand(8, 4)), optim)
    assert seen['dtype'] == torch.bfloat16
    assert model.fc.weight.dtype == torch.float32
    assert not torch.equal(model.fc.weight, before)
    with pytest.raises(ValueError, match='bfloat16'):
        build_optim_wrapper(model, dict(
            type='AutocastOptimWrapper', dtype='float32',
            optimizer=dict(type='Adam', lr=1e-2)))
