from .classifier_accuracy import ClassifierAccuracyMetric, multilabel_accuracy

__all__ = ['ClassifierAccuracyMetric', 'multilabel_accuracy']
