from .label_balanced_sampler import (LabelBalancedSampler, balanced_weights,
                                     sample_keys)

__all__ = ['LabelBalancedSampler', 'balanced_weights', 'sample_keys']
