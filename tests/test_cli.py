"""The console command answers --version and --help without heavy imports."""

import subprocess
import sys

import pytest

from tui import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.smoke
def test_version_prints_package_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"meshtui {__version__}"


def test_help_lists_demo_and_sim() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--demo" in result.stdout
    assert "sim" in result.stdout


def test_version_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from tui.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('textual', 'kubernetes', 'aiohttp') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout
