from .atomic_io import (create_temp_file, is_temp_file, temp_file_target,
                        write_bytes_atomic, write_text_atomic)
from .checkpoint import (get_state_dict, load_checked_state_dict,
                         load_checkpoint_safe,
                         load_model_weights, load_submodule_weights,
                         parts_with_parameters, prefixed_or_bare_state_dict,
                         resolve_checkpoint_path)
from .config import (disable_config_formatting, parse_config_arguments,
                     set_data_root)
from .image_io import (IMAGE_EXTENSIONS, ImageReadError, check_image,
                       encode_image, load_image, merge_luma, read_image,
                       split_luma, to_grey, write_image_atomic)
from .normalization import UINT8_MODES, minmax_normalize, to_uint8
from .precision import autocast_context

__all__ = ['create_temp_file', 'write_bytes_atomic', 'write_text_atomic',
           'is_temp_file', 'temp_file_target',
           'load_checkpoint_safe', 'get_state_dict', 'load_submodule_weights',
           'load_model_weights', 'parts_with_parameters',
           'load_checked_state_dict',
           'prefixed_or_bare_state_dict',
           'resolve_checkpoint_path', 'set_data_root',
           'disable_config_formatting', 'parse_config_arguments',
           'minmax_normalize', 'to_uint8', 'autocast_context',
           'UINT8_MODES', 'IMAGE_EXTENSIONS', 'ImageReadError',
           'check_image', 'encode_image', 'load_image', 'merge_luma',
           'read_image', 'split_luma', 'to_grey', 'write_image_atomic']
