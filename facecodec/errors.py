"""One exception hierarchy for everything facecodec raises on purpose.

The library never prints or exits; the CLI turns any :class:`FacecodecError`
into one line ``error: ...`` on stderr and exit code 1 (2 for a :class:`UsageError`
or a :class:`QualityError`: arguments that cannot work together).
"""

from __future__ import annotations


class FacecodecError(Exception):
    """Base class of every error facecodec raises deliberately."""


class UsageError(FacecodecError):
    """Arguments that cannot work together (several inputs and one output file,
    two inputs that would write the same output, ...): nothing was read or written."""


# --- container (.ffc) -------------------------------------------------------
class ContainerError(FacecodecError):
    """A ``.ffc`` file could not be read."""


class BadMagic(ContainerError):
    """The data does not start with the ``.ffc`` magic bytes."""


class UnsupportedVersion(ContainerError):
    """The file's format version is not one this reader knows."""


class Truncated(ContainerError):
    """The file ends before the header or a stream is complete."""


class TrailingData(ContainerError):
    """Bytes follow the end of the last stream."""


class ChecksumMismatch(ContainerError):
    """The CRC-32 stored in the file does not match its contents."""


class MalformedHeader(ContainerError):
    """A header field holds a value that is not allowed (e.g. 0 channels)."""


class CorruptStream(ContainerError):
    """The entropy-coded stream does not decode (a file whose CRC matches, yet malformed)."""


class LimitExceeded(ContainerError):
    """A dimension or length is over a documented cap."""


# --- models and weights -----------------------------------------------------
class UnknownModel(FacecodecError):
    """A model name or model id is not in the registry."""


class WeightsError(FacecodecError):
    """Weights are missing, unreadable, or fail their sha256 check."""


class QualityError(UsageError):
    """A quality or rate target is outside what the model supports."""


# --- images and I/O -----------------------------------------------------------
class ImageError(FacecodecError):
    """An input could not be read as an image, or an image could not be written."""


class OutputExists(FacecodecError):
    """The output file exists and ``--force`` was not given."""


class DatasetError(FacecodecError):
    """A training or benchmark dataset could not be read."""


class TrainingError(FacecodecError):
    """A training run cannot start or continue as configured."""


class BudgetError(FacecodecError):
    """An image cannot be coded within the asked byte or bpp budget."""
