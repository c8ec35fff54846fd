"""What mm-tracker-eval evaluates: dataset sequences (streamed as bag messages would be) or existing bags."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mm_tracker_model.bags.read import MessageStream, iter_messages, open_bag
from mm_tracker_model.bags.topics import BagTopics
from mm_tracker_model.bags.write import BagOptions, sequence_messages, sequence_meta, write_bag
from mm_tracker_model.data.sources import open_sequence
from mm_tracker_model.errors import BagDamagedError, MMTrackerError

STREAMS = ("rgb", "aux", "gt_target", "gt_alignment")


class InputMessages(Iterator[tuple[str, Any]]):
    """(stream name, message) of an input in log-time order.

    `damage`, once iterated to the end: for a bag readable only up to some message, where and why (the messages
    before it were yielded); None for a bag read to its end and for a dataset sequence.
    """

    def __init__(self, messages: Iterator[tuple[str, Any]], bag: MessageStream | None = None) -> None:
        self._messages, self._bag = messages, bag

    def __next__(self) -> tuple[str, Any]:
        return next(self._messages)

    @property
    def damage(self) -> BagDamagedError | None:
        return None if self._bag is None else self._bag.damage


@dataclass(frozen=True)
class EvalInput:
    """One sequence folder (+ format, pseudo X, misalignment) or one bag."""

    path: Path
    format: str | None = None  # None: a bag
    pseudo_aux: str | None = None
    misalign: str | None = None
    bag: BagOptions = field(default_factory=BagOptions)
    topics: BagTopics = field(default_factory=BagTopics)
    modality: str | None = None  # for bags without mm_tracker metadata

    @property
    def is_bag(self) -> bool:
        return self.format is None

    def open(self):
        return open_sequence(self.path, self.format, self.pseudo_aux, self.misalign)

    def meta(self) -> dict:
        if self.is_bag:
            info = open_bag(self.path, [self.topics.rgb, self.topics.aux, self.topics.gt_target])
            return self._with_defaults(info.meta)
        return sequence_meta(self.open(), self.bag)

    def _with_defaults(self, meta: dict) -> dict:
        meta = dict(meta)
        meta.setdefault("sequence", self.path.name)
        meta.setdefault("gt_every", 1)
        meta.setdefault("registered", False)
        if self.modality:
            meta["modality"] = self.modality
        if "modality" not in meta:
            raise MMTrackerError(f"bag {str(self.path)!r} has no mm_tracker metadata: give --modality")
        return meta

    def messages(self) -> InputMessages:
        """The input's streams, from the sequence or the bag (opened here: BagError when it cannot be read)."""
        if not self.is_bag:
            sequence = sequence_messages(self.open(), self.bag)
            return InputMessages((name, msg) for name, _, msg in sequence if name in STREAMS)
        names = {getattr(self.topics, n): n for n in STREAMS}
        bag = iter_messages(self.path, names)
        return InputMessages(((names[topic], msg) for topic, _, msg in bag), bag)

    def to_bag(self, out: Path) -> Path:
        return self.path if self.is_bag else write_bag(self.open(), out, self.bag)
