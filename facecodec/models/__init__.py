"""Model architectures; built only through :mod:`facecodec.registry`."""

from __future__ import annotations

import warnings

# CompressAI 1.2.8 calls torch.jit.script at import, which recent torch flags as
# deprecated on every CLI run; the message is noise for facecodec users.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
