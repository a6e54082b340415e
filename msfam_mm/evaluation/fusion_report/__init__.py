"""The results report of a fusion model against the published methods and
the classic baselines, under a test protocol (``paper`` or ``cross``), as
generated Markdown tables and figures (``tools/make_report.py``; the
analysis a person keeps true is docs/RESULTS.md).

Modules, in the order a report uses them:

* :mod:`.protocols` - the test sets of each protocol, the published
  methods, the ranked metrics;
* :mod:`.training_data` - which images each training config fed its model;
* :mod:`.methods` - the rows of the report and where their fused images
  are (the fusing itself is :func:`msfam_mm.batch_fusion.missing.fuse_missing`,
  above the inference API in the layering);
* :mod:`.scoring` - every metric of every method on every pair, cached;
* :mod:`.summary` - means, conventions, ranks and top-3 counts;
* :mod:`.classifier`, :mod:`.model_size` - the classifier's accuracy, the
  network's size and speed;
* :mod:`.figures` - fused outputs next to both sources;
* :mod:`.tables` - the generated Markdown.
"""
from .methods import (SHIPPED, Method, classic_baselines, classifier_groups,
                      parse_ablation, published_methods, select)
from .protocols import (GOAL_METRICS, PROTOCOLS, PUBLISHED_METHODS, TNO42,
                        ReportError, load_test_sets, smallest_first)
from .scoring import common_pairs, score_groups, score_methods
from .summary import goal_ranks, rank, summary, top3_count
from .tables import ReportData, render_report
from .training_data import parse_role_config, training_data, unseen_pairs

__all__ = ['SHIPPED', 'Method', 'classic_baselines', 'classifier_groups',
           'parse_ablation', 'published_methods', 'score_groups', 'select',
           'GOAL_METRICS', 'PROTOCOLS', 'PUBLISHED_METHODS', 'TNO42',
           'ReportError', 'load_test_sets', 'smallest_first',
           'common_pairs', 'score_methods', 'goal_ranks', 'rank', 'summary',
           'top3_count', 'ReportData', 'render_report', 'parse_role_config',
           'training_data', 'unseen_pairs']
