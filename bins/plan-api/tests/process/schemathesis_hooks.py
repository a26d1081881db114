"""The rules between parameters of plan-api's search routes, which OpenAPI cannot state (it describes each
parameter alone): the document says them in the parameters' descriptions, and this module tells schemathesis, so that
the requests it generates as valid are valid.

- `/api/v1/plans`: `date` is not given with `from` or `to`.
- `/api/v1/plans` and `/api/v1/tickers`: the range from `from` (default: 29 days before `to`) to `to` (default:
  today in the market time zone) is not backwards and covers at most 366 days.
- `POST /api/v1/webhooks`: the receiver's URL is `https://`, without credentials, at a public host (the document's
  description says so; a format cannot). A URL whose host the WHATWG parser might read as an address, or that
  Python's parser and the server's could read differently, is left out of the valid ones.

Only the cases schemathesis generates as valid are filtered: the ones it makes invalid on purpose still go out, and
the server must refuse them. Every check stays on.
"""

import datetime
import ipaddress
import re
import urllib.parse
import zoneinfo

import schemathesis

MARKET_TIME_ZONE = zoneinfo.ZoneInfo("America/New_York")
MAX_DAYS = 366
DEFAULT_DAYS = 30
SEARCH_ROUTES = ("/api/v1/plans", "/api/v1/tickers")
WEBHOOKS_ROUTE = "/api/v1/webhooks"
DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _receivable(url):
    """Whether the server accepts `url` as a webhook receiver (a conservative reading of its rule)."""
    if not isinstance(url, str) or len(url) > 2048 or not url.isascii() or any(c.isspace() for c in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or "@" in parts.netloc or "\\" in url:
        return False
    host = parts.hostname or ""
    if host.startswith("["):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    labels = host.split(".")
    last = labels[-1]
    return (
        DOMAIN.fullmatch(host) is not None
        and host != "localhost"
        and any(c.isalpha() for c in last)
        and not last.startswith("0x")
        and not any(label.startswith("xn--") for label in labels)
    )


def _single(value):
    """A query value as the server reads it: a list of one, or an empty value, is that value or nothing."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else value
    return value


def _date(value, today):
    value = _single(value)
    if value is None or value == "":
        return None
    if value == "today":
        return today
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _admissible(case):
    """Whether the dates of a search case follow the rules the document states in words."""
    query = case.query or {}
    today = datetime.datetime.now(MARKET_TIME_ZONE).date()
    date = _date(query.get("date"), today)
    start = _date(query.get("from"), today)
    end = _date(query.get("to"), today)
    if date is not None and (start is not None or end is not None):
        return False
    if date is not None:
        return True
    end = end or today
    if start is None:
        # The server starts a range no earlier than 0001-01-01, as Python's dates do.
        earliest = datetime.date.min + datetime.timedelta(days=DEFAULT_DAYS - 1)
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1) if end >= earliest else datetime.date.min
    return start <= end and (end - start).days + 1 <= MAX_DAYS


@schemathesis.hook
def filter_case(context, case):
    """Generated cases (coverage, fuzzing, stateful) that are meant to be valid follow the rules."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    if case.operation.path == WEBHOOKS_ROUTE and case.operation.method.upper() == "POST":
        return isinstance(case.body, dict) and _receivable(case.body.get("url"))
    if case.operation.path not in SEARCH_ROUTES:
        return True
    return _admissible(case)


@schemathesis.hook
def before_add_examples(context, examples):
    """The examples phase combines every parameter's example, `date` with `from` and `to`: keep `date` alone."""
    if context.operation is None or context.operation.path not in SEARCH_ROUTES:
        return
    for case in examples:
        if case.query and not _admissible(case):
            case.query.pop("from", None)
            case.query.pop("to", None)
    examples[:] = [case for case in examples if _admissible(case)]
