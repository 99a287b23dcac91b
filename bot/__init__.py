"""Runs the Slack bot from a clone: `python -m bot` is `spanqa-bot`.

The bot's code is `spacy_spanqa.bot`, installed with the package
(`pip install "spacy-spanqa[bot]"`); this folder keeps its README.
"""
