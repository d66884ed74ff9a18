"""The seed's start command: `python run_auth.py` runs the service (honours HOST and PORT)."""

from botcraft.cli import main

if __name__ == "__main__":
    main(["serve"])
