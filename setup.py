"""Build hook: ship ``greenlane-eventlet.pth`` at the top of the wheel (everything else is in pyproject.toml).

The ``.pth`` line runs at every interpreter start; it costs one environment
lookup and imports greenlane only when ``GREENLANE_EVENTLET`` is set (the
``eventlet`` alias for services started by other launchers).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "greenlane-eventlet.pth"


class BuildWithPth(build_py):
    """``build_py`` that also copies the ``.pth`` hook into the wheel's root."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "src" / PTH
        self.copy_file(str(source), str(Path(self.build_lib) / PTH), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]


setup(cmdclass={"build_py": BuildWithPth})
