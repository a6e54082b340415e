"""MSFAM losses (Sections 3.3, 3.5, 3.6), functional and module forms."""
from .fusion_loss import FusionLoss, fusion_l1_loss
from .pull_push_loss import (PullPushLoss, edge_preservation, pull_push_loss,
                             pull_push_weights, sobel_gradients)
from .reconstruction_loss import ReconstructionLoss, reconstruction_loss
from .semantic_constraint_loss import (SemanticConstraintLoss,
                                       semantic_constraint_loss)
from .ssim import MSSSIMLoss, SSIMLoss, ms_ssim, ssim

__all__ = [
    'ssim', 'ms_ssim', 'SSIMLoss', 'MSSSIMLoss', 'reconstruction_loss',
    'ReconstructionLoss', 'semantic_constraint_loss',
    'SemanticConstraintLoss', 'sobel_gradients', 'edge_preservation',
    'pull_push_weights', 'pull_push_loss', 'PullPushLoss', 'fusion_l1_loss',
    'FusionLoss'
]
