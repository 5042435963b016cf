from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import main


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert __version__ in result.output


def test_unknown_option_is_exit_1_not_2() -> None:
    # 2 means "changes present" for this tool, so usage errors must not use it.
    result = CliRunner().invoke(main, ["--no-such-option"])
    assert result.exit_code == 1
