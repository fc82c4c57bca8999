"""``python -m iamledger``: the same command as ``iamledger``.

This module is an entry point of the command, so it belongs to the ``cli`` layer though it sits in the library's
folder (tests/test_layering.py says so): nothing in the library imports it, and it only hands over to
:func:`iamledger.cli.main.main`.
"""

from iamledger.cli.main import main

if __name__ == "__main__":
    main()
