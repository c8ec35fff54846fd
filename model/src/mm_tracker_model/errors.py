"""Specific exceptions of the model library; each message names the offending value and what was expected."""


class MMTrackerError(Exception):
    """Base class of every error raised on purpose by mm_tracker_model."""


class PresetError(MMTrackerError, KeyError):
    """Unknown preset name or invalid preset field."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(MMTrackerError):
    """A checkpoint file is missing, unreadable, not a checkpoint, or does not match the model."""


class ShapeMismatchError(CheckpointError):
    """A tensor in a checkpoint does not have the shape the model expects."""


class InputShapeError(MMTrackerError, ValueError):
    """A network input does not have the expected shape."""


class PreprocessError(MMTrackerError, ValueError):
    """An image or event array cannot be converted (encoding, dtype, shape)."""


class ImageConversionError(PreprocessError):
    """A message that cannot be read as an image (encoding, size, truncated data, undecodable compression)."""


class EngineInputError(MMTrackerError, ValueError):
    """The tracker engine was given an unusable frame, box or homography."""


class BagError(MMTrackerError):
    """A bag that cannot be opened or lacks the topics asked for; the message lists what it has."""


class BagDamagedError(BagError):
    """A bag unreadable from one message on: `read` messages came before it; `topic`: the bad one's, where known."""

    def __init__(self, read: int, topic: str | None, reason: str) -> None:
        super().__init__(read, topic, reason)  # all three in args: the error pickles (evaluation workers)
        self.read, self.topic, self.reason = read, topic, reason

    def __str__(self) -> str:
        return f"message #{self.read} (topic {self.topic or 'unknown'}): {self.reason}"


class CalibrationError(MMTrackerError, ValueError):
    """A calibration file is missing, malformed, or inconsistent; the message names the field."""


class TrainConfigError(MMTrackerError, ValueError):
    """A training configuration that cannot run; the message names the field."""


class AnnotationError(MMTrackerError, ValueError):
    """A ground-truth file that cannot be read; the message names the file and line."""


class SequenceError(MMTrackerError, ValueError):
    """A sequence folder that does not match its format; the message names what is missing."""


class PeerError(MMTrackerError):
    """A peer tracker that cannot run here (missing OpenCV module or model files)."""


class MetricsInputError(MMTrackerError, ValueError):
    """Ground truth, results or a sequence list that cannot be scored; the message names the path."""


class MissingResultError(MetricsInputError, FileNotFoundError):
    """No result file for a sequence."""
