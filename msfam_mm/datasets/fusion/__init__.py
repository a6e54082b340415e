from .file_lists import (match_pairs_by_stem, read_list_file, scan_images,
                         scene_set_of)
from .paired_fusion_dataset import PairedFusionDataset
from .published_fusion_dataset import PublishedFusionDataset
from .single_band_dataset import SingleBandImageDataset
from .split import make_pair_split, write_pair_list

__all__ = ['SingleBandImageDataset', 'PairedFusionDataset',
           'PublishedFusionDataset',
           'read_list_file', 'scan_images', 'match_pairs_by_stem',
           'scene_set_of',
           'make_pair_split', 'write_pair_list']
