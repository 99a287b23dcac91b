"""Bot fixtures: a mock Slack Web API on 127.0.0.1."""
import pytest

pytest.importorskip("slack_sdk")


@pytest.fixture
def api():
    """A mock Slack Web API on 127.0.0.1 that records the calls it receives."""
    from tests.bot.mock_slack import MockSlackAPI

    mock = MockSlackAPI()
    yield mock
    mock.close()
