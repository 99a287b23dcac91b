"""Slack bot for spacy-spanqa: answers questions in Slack from a knowledge base index.

Run it with `python -m bot --index PATH`; build the app in code with
`bot.app.create_app(answerer, client=..., feedback=...)`.
"""
