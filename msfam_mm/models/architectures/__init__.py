from .msfam_fusion import MSFAMFusion
from .msfam_reconstructor import MSFAMReconstructor
from .semantic_constraint_model import SemanticConstraintModel

__all__ = ['MSFAMReconstructor', 'MSFAMFusion', 'SemanticConstraintModel']
