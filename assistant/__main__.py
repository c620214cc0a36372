"""`python -m assistant`: the same entry point as the console script."""

from assistant.cli import main_exit

if __name__ == "__main__":
    main_exit()
