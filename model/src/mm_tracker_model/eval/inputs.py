"""What mm-tracker-eval evaluates: dataset sequences (streamed as bag messages would be) or existing bags."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mm_tracker_model.bags.read import BagScan, iter_messages, open_scan
from mm_tracker_model.bags.topics import BagTopics
from mm_tracker_model.bags.write import BagOptions, sequence_messages, sequence_meta, write_bag
from mm_tracker_model.data.sources import open_sequence
from mm_tracker_model.errors import MMTrackerError

STREAMS = ("rgb", "aux", "gt_target", "gt_alignment")


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
            scan = open_scan(self.path, [self.topics.rgb, self.topics.aux, self.topics.gt_target])
            return self._with_defaults(scan.meta)
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

    def messages(self, scan: BagScan | None = None) -> Iterator[tuple[str, Any]]:
        """(stream name, message) in log-time order; for a bag, `scan` collects its read errors."""
        if not self.is_bag:
            for name, _, msg in sequence_messages(self.open(), self.bag):
                if name in STREAMS:
                    yield name, msg
            return
        names = {getattr(self.topics, n): n for n in STREAMS}
        scan = scan if scan is not None else BagScan(meta={}, topics={})
        for topic, _, msg in iter_messages(self.path, names, scan):
            yield names[topic], msg

    def to_bag(self, out: Path) -> Path:
        return self.path if self.is_bag else write_bag(self.open(), out, self.bag)
