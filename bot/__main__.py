"""`python -m bot` from a clone: the same command line as `spanqa-bot`."""
from spacy_spanqa.bot.__main__ import main

if __name__ == "__main__":
    main(prog_name="python -m bot")
