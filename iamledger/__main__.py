"""``python -m iamledger``: the same command as ``iamledger``."""

from iamledger.cli.main import main

if __name__ == "__main__":
    main()
