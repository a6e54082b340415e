"""MSFAM networks (Zheng et al., Sensors 2022, Section 3): the fusion
network and the Semantic Constraint classifier, with their blocks."""
from .attention_fusion_block import AttentionFusionBlock, SpatialAttention
from .conv_fusion_block import ConvFusionBlock
from .hin_block import HINBlock
from .hin_encoder import HINEncoder
from .msfam_net import MSFAMNet, msfam_autoencoder, msfam_net, pad_to_divisor
from .nest_decoder import NestDecoder, NestDecoderBlock
from .nestfuse_strategy import (NestFuseStrategyNet, nestfuse_attention_fusion,
                                nestfuse_channel_fusion,
                                nestfuse_spatial_fusion)
from .semantic_constraint_classifier import (SemanticConstraintClassifier,
                                             semantic_constraint_classifier)

__all__ = [
    'HINBlock', 'HINEncoder', 'NestDecoder', 'NestDecoderBlock',
    'AttentionFusionBlock', 'SpatialAttention', 'ConvFusionBlock', 'MSFAMNet',
    'SemanticConstraintClassifier', 'msfam_net', 'msfam_autoencoder',
    'semantic_constraint_classifier', 'pad_to_divisor',
    'NestFuseStrategyNet', 'nestfuse_attention_fusion',
    'nestfuse_spatial_fusion', 'nestfuse_channel_fusion'
]
