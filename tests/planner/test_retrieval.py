"""Tool retrieval: identifier splitting, stemming and BM25 ranking over tools of any shape."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.settings import ConfigError, Settings
from planner.llm import retry_delay
from planner.retrieval import LexicalRanker, split_identifier, tokens, tool_text
from tools import ToolRegistry


@pytest.mark.parametrize(("name", "words"), [
    ("getWeatherForecast", ["get", "weather", "forecast"]),
    ("math_toolkit.sum_of_multiples", ["math", "toolkit", "sum", "of", "multiples"]),
    ("HTTPRequest", ["http", "request"]),
    ("files.read", ["files", "read"]),
    ("parseISO8601Date", ["parse", "iso", "8601", "date"]),
])
def test_identifiers_split_on_dots_underscores_and_camel_case(name, words):
    assert split_identifier(name) == words


def test_tokens_drop_stop_words_and_meet_inflected_forms():
    assert tokens("Please get the weather forecasts") == tokens("weather forecast")
    assert tokens("analyzing prices") == tokens("analyze price")


SEAL_LIKE = [
    {"api_name": "getWeatherForecast", "api_description": "Weather forecast for a city",
     "parameters": {"city": {"type": "str", "description": "City name"}}},
    {"api_name": "bookFlight", "api_description": "Book a plane ticket",
     "parameters": {"origin": {"type": "str"}, "destination": {"type": "str"}}},
    {"api_name": "getStockPrice", "api_description": "Current price of a share",
     "parameters": {"ticker": {"type": "str", "description": "Stock symbol"}}},
]


def test_plain_dict_catalogues_rank_by_relevance():
    ranker = LexicalRanker()
    assert ranker.rank("What will the weather be in Paris tomorrow?", SEAL_LIKE, 1) == [
        "getWeatherForecast"]
    assert ranker.rank("I need a flight ticket to Rome", SEAL_LIKE, 2)[0] == "bookFlight"
    assert ranker.rank("share price for the ticker AAPL", SEAL_LIKE, 3)[0] == "getStockPrice"


def test_argument_names_and_descriptions_are_searched():
    ranker = LexicalRanker()
    assert ranker.rank("which stock symbol", SEAL_LIKE, 1) == ["getStockPrice"]
    assert "destination" in tool_text(SEAL_LIKE[1]).arguments


def test_name_tokens_outweigh_a_mention_in_a_description():
    tools = [
        {"name": "notes.archive", "description": "Store a forecast note for later."},
        {"name": "weather.forecast", "description": "Tomorrow's outlook."},
    ]
    assert LexicalRanker().rank("forecast", tools, 1) == ["weather.forecast"]


def test_unmatched_goal_keeps_catalogue_order_and_k_bounds_the_result():
    ranker = LexicalRanker()
    assert ranker.rank("zzz qqq", SEAL_LIKE, 2) == ["getWeatherForecast", "bookFlight"]
    assert ranker.rank("weather", SEAL_LIKE, 0) == []
    assert len(ranker.rank("weather", SEAL_LIKE, 10)) == 3


def test_tool_specs_from_a_registry_are_ranked_too():
    reg = ToolRegistry()

    @reg.tool("files.read")
    def read(path: str) -> str:
        """Read a text file."""
        return ""

    @reg.tool("http.request")
    def request(url: str) -> str:
        """Call an HTTP endpoint."""
        return ""

    assert LexicalRanker().rank("read the text file notes.txt", list(reg), 1) == ["files.read"]


def test_the_index_is_rebuilt_when_the_catalogue_changes():
    ranker = LexicalRanker()
    ranker.rank("weather", SEAL_LIKE, 1)
    extra = [*SEAL_LIKE, {"name": "rain.radar", "description": "Rain radar images"}]
    assert ranker.rank("rain radar", extra, 1) == ["rain.radar"]


def test_retry_delay_doubles_is_bounded_and_honours_retry_after():
    assert [retry_delay(n, base_s=0.5, max_s=3, retry_after_s=None) for n in (1, 2, 3, 4)] == [
        0.5, 1.0, 2.0, 3]
    assert retry_delay(1, base_s=0.5, max_s=30, retry_after_s=7) == 7
    assert retry_delay(1, base_s=0.5, max_s=30, retry_after_s=120) is None  # not retried early


def test_services_refuse_to_build_an_llm_planner_without_an_endpoint():
    with pytest.raises(ConfigError, match="BATON_LLM_BASE_URL"):
        Services(Settings()).llm_planner  # noqa: B018 - the property raises


def test_services_build_the_llm_planner_from_settings(tmp_path):
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "max_steps": 12,
        "llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "max_repairs": 2,
                "max_tools_offered": 7, "api_key": "k"}})
    config = Services(settings).llm_planner.config
    assert (config.max_attempts, config.max_tools_offered, config.max_steps) == (2, 7, 12)
    assert config.api_key.get_secret_value() == "k" and config.model == "m"
