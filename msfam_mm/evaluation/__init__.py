from .fusion_metrics import *  # noqa: F401,F403
from .kaist import *  # noqa: F401,F403
from .classification import *  # noqa: F401,F403
