"""Slack bot for spacy-spanqa: answers questions in Slack from a knowledge base index.

Run it with `spanqa-bot --index PATH` (installed with `pip install "spacy-spanqa[bot]"`);
build the app in code with `spacy_spanqa.bot.app.create_app(answerer, client=..., store=...)`,
or the app with its runner with `spacy_spanqa.bot.launch.build_bot(options, settings)`.

    app           create_app: the bolt App, wired (listeners, answer queue, replies)
    listeners     bolt listeners and the matchers that say which messages are questions
    replies       posting answers, errors, reactions and ephemeral messages
    blocks        Block Kit messages and modals (pure)
    slack_text    mrkdwn escaping and the plain question in a Slack message (pure)
    followups     follow-ups read with their thread's earlier question (pure)
    access        the access file: knowledge bases and their audiences (pure)
    audience      who asks, where, and which knowledge bases that allows (users.info, memberships, cached)
    knowledge     the knowledge bases one bot serves, and one merged answer across those allowed
    answer_queue  answers questions off Slack's request path, batched
    store         answers, votes, corrections, thread context, event claims (SQLite/PostgreSQL)
    feedback      the vote vocabulary, the report, the SQuAD export
    server        Slack settings from the environment; Socket Mode or HTTP runner
    launch        check_options and build_bot: what `spanqa-bot` does, without typer
    settings      the bot's defaults, written once
    redaction     logging that never shows a token
    __main__      the `spanqa-bot` command line
"""
