from .networks import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .architectures import *  # noqa: F401,F403
