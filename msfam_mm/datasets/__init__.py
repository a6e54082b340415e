from .transforms import *  # noqa: F401,F403
from .fusion import *  # noqa: F401,F403
from .kaist import *  # noqa: F401,F403
from .samplers import *  # noqa: F401,F403
