"""`spanqa serve`: the HTTP API, the web page and the Insights page.

    settings   the server's defaults, written once
    models     request and response bodies (pydantic), built from the results types
    answering  the bot's batching answer queue, awaited from async routes
    security   loopback-or-token: who may start the server on which address, bearer checks
    api        the routes: /ask, /feedback/*, /insights*, /healthz, the page
    insights   what the answers/votes/corrections tables say (SQL over the bot's store)
    grouping   unanswered questions that ask the same thing, grouped by shared words
    charts     SVG bar charts drawn on the server
    report     the Insights page as one self-contained HTML file (server and `spanqa-bot report`)
    app        create_app: the FastAPI app, wired
    launch     check_options and build: what `spanqa serve` does, without typer
    static/    the web page: plain HTML, CSS and JS (no build step, works offline)

Like the bot, nothing here imports torch: answers come through an `Answerer`
(`QuestionAnswerer`) and the results types.
"""
