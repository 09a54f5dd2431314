"""The one-line refusal train.py gives a user's mistake, for the tests that check its words."""
import pytest

import train


def one_line_error(argv) -> str:
    """``train.main(argv)``'s exit message: one line starting with ``error: ``."""
    with pytest.raises(SystemExit) as stop:
        train.main(argv)
    message = stop.value.code
    assert isinstance(message, str) and message.startswith("error: ") and "\n" not in message
    return message
