"""Slack bot for spacy-spanqa: answers questions in Slack from a knowledge base index.

Run it with `spanqa-bot --index PATH` (installed with `pip install "spacy-spanqa[bot]"`);
build the app in code with `spacy_spanqa.bot.app.create_app(answerer, client=..., feedback=...)`.
"""
