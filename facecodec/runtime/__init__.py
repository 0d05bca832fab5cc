"""The lean inference runtime: numpy, ONNX Runtime and constriction, no torch.

:mod:`.codec` holds what decides a file's bytes (gains, symbols, the exact
hyper-synthesis of :mod:`.hyper`, the streams of :mod:`.ans` and, for older
files, :mod:`.rans_legacy`); :mod:`.graphs` runs the float transforms. The
PyTorch models of :mod:`facecodec.models` run the same coding with their own
transforms (the reference path, and CUDA).
"""
