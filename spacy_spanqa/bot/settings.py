"""Every default of the Slack bot, written once: `create_app`, the answer queue
and `spanqa-bot` read them from here (retrieval defaults such as top-k live in
`spacy_spanqa.retrieval.settings`)."""

DEFAULT_HOST = "0.0.0.0"  # HTTP mode: address to listen on
DEFAULT_PORT = 3000  # HTTP mode: Slack posts to http://host:port/slack/events
DEFAULT_MAX_QUESTION_CHARS = 500  # longer questions are refused, not truncated
DEFAULT_MAX_BATCH = 8  # queued questions answered per model call
DEFAULT_MAX_PENDING = 200  # questions waiting beyond this are turned away ("busy")
DEFAULT_PROMPTS = (  # offered when someone opens the bot's AI-app thread
    "How many vacation days do I get?",
    "Who do I contact about my laptop?",
    "What is the travel meal allowance?",
)
MAX_PROMPTS = 4  # Slack shows at most four suggested prompts
DEFAULT_KNOWLEDGE_BASE = "default"  # the name of the single --index when there is no access file
DEFAULT_ACCESS_CACHE_SECONDS = 300  # user facts and memberships looked up in Slack are trusted this long
