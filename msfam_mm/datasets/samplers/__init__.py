from .label_balanced_sampler import (LabelBalancedSampler, balanced_weights,
                                     label_of)

__all__ = ['LabelBalancedSampler', 'balanced_weights', 'label_of']
