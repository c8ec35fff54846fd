"""The launch files as tests see them, with or without the launch library.

launch / launch_ros are not on PyPI. `load` runs a launch file's `generate_launch_description` against stand-in
`launch*` modules whose every class records how it was built, so tests read the arguments, defaults, remappings
and event handlers the real file creates (the values are computed, e.g. from mm_tracker_model), not its text.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "launch"
STUBBED = ("launch", "launch_ros")


def launch_library_missing() -> str | None:
    """Why the real launch library cannot be used here, or None when it can."""
    try:
        import launch
        import launch_ros  # noqa: F401
    except ImportError as exc:
        return f"the ROS 2 launch library is not importable ({exc}); it is not on PyPI: a full ROS 2 install has it"
    if not hasattr(launch, "LaunchDescription"):  # the repository's launch/ folder, seen as a namespace package
        return "the ROS 2 launch library is not installed (only the repository's launch/ folder is importable)"
    return None


class Recorded:
    """A stand-in launch class instance: its class name and the arguments it was built with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    @property
    def kind(self) -> str:
        return type(self).__name__

    def perform(self, context: Any) -> str:
        """A LaunchConfiguration performs to the context's configuration of its name (as the real one does)."""
        assert self.kind == "LaunchConfiguration", f"{self.kind}.perform is not modelled"
        return context.launch_configurations[self.args[0]]

    def evaluate(self, context: Any) -> bool:
        """An IfCondition holds for "true" or "1" (as the real one does)."""
        assert self.kind == "IfCondition", f"{self.kind}.evaluate is not modelled"
        return self.args[0].perform(context).strip().lower() in ("true", "1")

    def __repr__(self) -> str:
        return f"{self.kind}{self.args}{self.kwargs}"


class _StubModule(types.ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []
        self._classes: dict[str, type] = {}

    def __getattr__(self, attr: str) -> type:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._classes.setdefault(attr, type(attr, (Recorded,), {}))


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module) -> None:
        pass


def _launch_modules() -> dict[str, types.ModuleType]:
    return {n: m for n, m in sys.modules.items() if n.split(".")[0] in STUBBED}


@contextmanager
def stubbed_launch() -> Iterator[None]:
    """Every `launch*` / `launch_ros*` import inside gets a recording stand-in; the real modules come back after."""
    saved = _launch_modules()
    finder = _StubFinder()
    for name in saved:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in _launch_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def walk(value: Any, seen: set[int] | None = None) -> Iterator[Recorded]:
    """Every Recorded reachable from `value`, depth first, in order, each once."""
    seen = set() if seen is None else seen
    if isinstance(value, Recorded):
        if id(value) in seen:
            return
        seen.add(id(value))
        yield value
        value = [*value.args, *value.kwargs.values()]
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, type({}.items()))):
        for item in value:
            yield from walk(item, seen)


def text(value: Any) -> Any:
    """A LaunchConfiguration as ("config", name); plain values as they are."""
    if isinstance(value, Recorded) and value.kind == "LaunchConfiguration":
        return ("config", value.args[0])
    return value


@dataclass
class LaunchFile:
    name: str
    module: types.ModuleType
    description: Recorded

    @property
    def entities(self) -> list[Recorded]:
        return list(self.description.args[0])

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in walk(self.description) if r.kind == kind]

    @property
    def arguments(self) -> dict[str, Recorded]:
        declared = [r for r in walk(self.description) if r.kind == "DeclareLaunchArgument"]
        return {r.args[0]: r for r in declared}

    def includes(self) -> list[tuple[str, dict[str, Any]]]:
        """(launch file name, launch arguments passed) of each launch file it includes."""
        found = []
        for include in self.of_kind("IncludeLaunchDescription"):
            path = next(r for r in walk(include.args[0]) if r.kind == "PathJoinSubstitution").args[0]
            found.append((path[-1], dict(include.kwargs.get("launch_arguments", {}))))
        return found

    def node(self, executable: str) -> Recorded:
        (node,) = [r for r in walk(self.description) if r.kwargs.get("executable") == executable]
        return node


def load(name: str) -> LaunchFile:
    """Run launch/`name`'s generate_launch_description against the recording stand-ins."""
    path = LAUNCH / name
    with stubbed_launch():
        spec = importlib.util.spec_from_file_location("_launch_" + name.replace(".", "_"), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return LaunchFile(name, module, module.generate_launch_description())


def effective_defaults(name: str) -> dict[str, Any]:
    """Argument -> the value it has when not given on the command line, through the launch files it includes."""
    launch_file = load(name)
    defaults = {n: text(a.kwargs.get("default_value")) for n, a in launch_file.arguments.items()}
    for included, passed in launch_file.includes():
        for argument, default in effective_defaults(included).items():
            if argument in passed:
                value = text(passed[argument])
                # Passing LaunchConfiguration(x) forwards this file's own x.
                defaults[argument] = defaults[value[1]] if isinstance(value, tuple) else value
            else:
                # An argument this file declares too is set before the include: its default wins.
                defaults.setdefault(argument, default)
    return defaults
