//! Tickers: the market symbols a plan mentions, extracted from its text when it is written, so that plans can be found
//! by symbol with an index instead of a substring scan.
//!
//! What counts as a mention ([`TickerRules::extract`]):
//! - a cashtag, in any case: `$nvda`, `$BRK.B`, `$btc-usd` (always counts);
//! - a bare symbol written in upper case: 1 to 5 letters, with an optional class suffix (`BRK.B`, `BF.B`) after a base
//!   of at least 2 letters, as a whole word; unless it is on the stoplist, and, when a universe is configured, only if
//!   the universe lists it;
//! - a crypto pair written `BTC-USD` (base of 2 to 6 letters; quote USD, USDT, USDC, EUR, BTC or ETH), in upper case or
//!   as a cashtag (never subject to the stoplist or the universe).
//!
//! Links (`https://...`) and Discord mentions (`<@123>`) are skipped: a chart link is not a mention. Tickers come out in
//! the order of their first mention, each once.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Quote currencies of the crypto pairs recognised (`BTC-USD`, `ETH-BTC`, ...).
pub const CRYPTO_QUOTES: &[&str] = &["USD", "USDT", "USDC", "EUR", "BTC", "ETH"];

/// The default stoplist: upper-case words of trading chat that are not tickers when written bare.
///
/// Compiled for this product from: the trading-chat words every deployment meets (`I`, `A`, `AM`, `PM`, `ET`, `EOD`,
/// `HOD`, `ATH`, `CEO`, `ETF`, `USD`, `FOMC`, `RSI`, `VWAP`, ...); time zones and sessions; economic releases,
/// central banks and agencies; chart indicators; order, option and position terms; internet shorthand; day and month
/// abbreviations; and the frequent English words of up to five letters that chat writes in capitals (`THE`, `FOR`,
/// `NOW`, `ALL`, `LONG`, `STOP`, ...). Some are real symbols (`AI`, `ON`, `NOW`, `ALL`, `LOW`, `GOLD`): written as
/// cashtags (`$ON`) they count. Deployments add words with `plans.ticker_stoplist`.
pub const DEFAULT_STOPLIST: &[&str] = &[
    // Trading-chat words and abbreviations.
    "A", "I", "AM", "PM", "ET", "EST", "EDT", "CT", "CST", "CDT", "PT", "PST", "PDT", "UTC", "GMT", "RTH", "ETH", "AH",
    "EOD", "EOW", "EOM", "EOY", "HOD", "LOD", "ATH", "ATL", "CEO", "CFO", "CTO", "COO", "IPO", "ETF", "ETFS", "ETN",
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "CPI", "PPI", "PCE", "NFP", "GDP", "ISM", "PMI", "JOLTS",
    "FOMC", "FED", "ECB", "BOJ", "BOE", "SEC", "FDA", "DOJ", "FTC", "IRS", "OPEC", "RSI", "MACD", "EMA", "SMA", "VWAP",
    "ATR", "ADX", "OBV", "MA", "BB", "OI", "IV", "DD", "IMO", "IMHO", "TP", "SL", "PTS", "OK", "OKAY", "US", "USA",
    "EU", "UK", "NYSE", "AMEX", "OTC", "LEAP", "LEAPS", "DTE", "ITM", "OTM", "ATM", "YTD", "QOQ", "YOY", "MOM", "EPS",
    "PE", "PEG", "ROI", "ROE", "FCF", "EBIT", "DCF", "AI", "BTW", "FYI", "LOL", "FOMO", "FUD", "HODL", "YOLO", "TLDR",
    "WSB", "DM", "GG", "GL", "TA", "FA", "ER", "PR", "RR", "QE", "QT", "BPS", "BP", "NAV", "LONG", "SHORT", "BUY",
    "SELL", "CALL", "CALLS", "PUT", "PUTS", "BULL", "BEAR", "BULLS", "BEARS", "STOP", "STOPS", "ENTRY", "EXIT",
    "LIMIT", "SCALP", "SWING", "GAP", "GAPS", "FILL", "HALT", "SPIKE", "BREAK", "RES", "SUP", "PIVOT", "RISK", "SIZE",
    "HALF", "FULL", "TRIM", "ADD", "CUT", "CASH", "BOND", "BONDS", "OIL", "GOLD", "NEWS", "DATA", "PUMP", "DUMP",
    "MOON", "DIP", "RIP", "WIN", "LOSS", "GAIN", "PLAN", "NOTE", "NOTES", "ALERT", "LEVEL", "ZONE", "AREA", "RANGE",
    "TREND", "MOVE", "WATCH", // Days and months.
    "MON", "TUE", "TUES", "WED", "THU", "THUR", "THURS", "FRI", "SAT", "SUN", "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "SEPT", "OCT", "NOV", "DEC", // Frequent English words written in capitals.
    "AN", "THE", "AND", "OR", "BUT", "NOT", "NO", "YES", "IF", "IS", "IT", "ITS", "BE", "ARE", "WAS", "WERE", "BEEN",
    "DO", "DOES", "DID", "DONE", "GO", "GOES", "GONE", "GET", "GOT", "HAS", "HAD", "HAVE", "TO", "OF", "IN", "ON",
    "AT", "BY", "FOR", "FROM", "UP", "DOWN", "OUT", "OFF", "OVER", "UNDER", "INTO", "ONTO", "WITH", "AS", "SO", "THAN",
    "THEN", "THAT", "THIS", "THESE", "THOSE", "WHAT", "WHEN", "WHERE", "WHO", "WHY", "HOW", "ALL", "ANY", "SOME",
    "MORE", "MOST", "LESS", "VERY", "JUST", "ONLY", "ALSO", "NOW", "NEW", "OLD", "BIG", "HIGH", "LOW", "OPEN", "CLOSE",
    "NEXT", "LAST", "FIRST", "WEEK", "DAY", "DAYS", "TODAY", "MY", "ME", "WE", "OUR", "YOU", "YOUR", "HE", "SHE",
    "THEY", "THEM", "HIS", "HER", "WILL", "CAN", "MUST", "MIGHT", "COULD", "WOULD", "SHALL", "LIKE", "LOOK", "WAIT",
    "SEE", "KEEP", "HOLD", "TAKE", "MAKE", "NEED", "WANT", "BACK", "STILL", "EVEN", "WELL", "GOOD", "BAD", "BEST",
    "NICE", "EASY", "HARD", "FAST", "SLOW", "SAFE", "AFTER", "ABOUT", "AGAIN", "ABOVE", "BELOW", "NEAR", "WHILE",
    "UNTIL", "SINCE", "EACH", "BOTH", "MUCH", "MANY", "OWN", "SAME", "SUCH", "OTHER", "HERE", "THERE", "WAY", "TIME",
    "YEAR", "ONE", "TWO", "NONE",
];

/// A market symbol, in upper case: `NVDA`, `BRK.B`, `BTC-USD`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ticker(String);

/// Text that is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a ticker; write 1 to 5 letters (e.g. NVDA), with an optional class (BRK.B) or as a crypto pair \
     (BTC-USD), with or without a leading $"
)]
pub struct BadTicker(pub String);

impl Ticker {
    /// Parses a ticker as a user asks for one: an optional `$`, then 1 to 5 letters with an optional class of 1 or 2
    /// letters (`BRK.B`), or a crypto pair (`BTC-USD`), in any case.
    ///
    /// # Errors
    /// [`BadTicker`] for anything else.
    pub fn parse(input: &str) -> Result<Self, BadTicker> {
        let symbol = input.strip_prefix('$').unwrap_or(input);
        shape(symbol, 1).map(|_| Self(symbol.to_ascii_uppercase())).ok_or_else(|| {
            let shown: String = input.chars().take(40).collect();
            BadTicker(shown)
        })
    }

    /// The forms [`parse`](Self::parse) accepts, as a regular expression (for input schemas).
    pub fn pattern() -> String {
        let any_case = |word: &str| -> String {
            word.chars().map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())).collect()
        };
        let quotes: Vec<String> = CRYPTO_QUOTES.iter().map(|q| any_case(q)).collect();
        format!("^\\$?(?:[A-Za-z]{{1,5}}(?:\\.[A-Za-z]{{1,2}})?|[A-Za-z]{{2,6}}-(?:{}))$", quotes.join("|"))
    }

    /// The symbol, e.g. `BRK.B`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Ticker {
    type Error = BadTicker;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Ticker> for String {
    fn from(value: Ticker) -> Self {
        value.0
    }
}

/// The kinds of symbol a word can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Letters, maybe with a class suffix.
    Symbol,
    /// A crypto pair.
    Pair,
}

/// The shape of `word` (letters of any case), if it is a symbol; `min_class_base` is the shortest base a class
/// suffix may follow.
fn shape(word: &str, min_class_base: usize) -> Option<Shape> {
    let letters =
        |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some((base, quote)) = word.split_once('-') {
        let quote_ok = CRYPTO_QUOTES.iter().any(|q| q.eq_ignore_ascii_case(quote));
        return (letters(base, 2, 6) && quote_ok).then_some(Shape::Pair);
    }
    match word.split_once('.') {
        Some((base, class)) => {
            (letters(base, min_class_base.max(1), 5) && letters(class, 1, 2)).then_some(Shape::Symbol)
        }
        None => letters(word, 1, 5).then_some(Shape::Symbol),
    }
}

/// Which words count as tickers: the stoplist and the optional universe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerRules {
    stoplist: BTreeSet<String>,
    universe: Option<BTreeSet<String>>,
}

impl Default for TickerRules {
    /// The [`DEFAULT_STOPLIST`] and no universe.
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>(), None::<Vec<String>>)
    }
}

impl TickerRules {
    /// The default stoplist plus `extra_stopwords`, and, when given, the universe: the bare symbols that count (a
    /// cashtag or crypto pair counts whether listed or not). Words are compared in upper case; a leading `$` is ignored.
    pub fn new<S, U>(
        extra_stopwords: impl IntoIterator<Item = S>,
        universe: Option<impl IntoIterator<Item = U>>,
    ) -> Self
    where
        S: AsRef<str>,
        U: AsRef<str>,
    {
        let normalize = |w: &str| w.trim().trim_start_matches('$').to_ascii_uppercase();
        let mut stoplist: BTreeSet<String> = DEFAULT_STOPLIST.iter().map(|w| (*w).to_owned()).collect();
        stoplist.extend(extra_stopwords.into_iter().map(|w| normalize(w.as_ref())).filter(|w| !w.is_empty()));
        let universe = universe.map(|u| {
            u.into_iter().map(|w| normalize(w.as_ref())).filter(|w| !w.is_empty()).collect::<BTreeSet<String>>()
        });
        Self { stoplist, universe }
    }

    /// Whether `word` (any case) is on the stoplist.
    pub fn is_stopword(&self, word: &str) -> bool {
        self.stoplist.contains(&word.to_ascii_uppercase())
    }

    /// A short fingerprint of these rules: storage re-extracts the tickers of stored plans when the rules they were
    /// extracted with differ from its own.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(b"ticker rules v1\n");
        for word in &self.stoplist {
            hash.update(word.as_bytes());
            hash.update(b"\n");
        }
        match &self.universe {
            None => hash.update(b"no universe\n"),
            Some(universe) => {
                hash.update(b"universe\n");
                for word in universe {
                    hash.update(word.as_bytes());
                    hash.update(b"\n");
                }
            }
        }
        hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The tickers `text` mentions, in the order of their first mention, each once (see the module's documentation).
    pub fn extract(&self, text: &str) -> Vec<Ticker> {
        let mut found: Vec<Ticker> = Vec::new();
        for word in words(text) {
            if let Some(ticker) = self.ticker_of(word)
                && !found.contains(&ticker)
            {
                found.push(ticker);
            }
        }
        found
    }

    /// The ticker a word (already cut from its punctuation) is, if any.
    fn ticker_of(&self, word: &str) -> Option<Ticker> {
        if let Some(tag) = word.strip_prefix('$') {
            return shape(tag, 1).map(|_| Ticker(tag.to_ascii_uppercase()));
        }
        let upper = word.bytes().all(|b| !b.is_ascii_lowercase());
        match shape(word, 2)? {
            _ if !upper => None,
            Shape::Pair => Some(Ticker(word.to_owned())),
            Shape::Symbol if self.stoplist.contains(word) => None,
            Shape::Symbol if self.universe.as_ref().is_some_and(|u| !u.contains(word)) => None,
            Shape::Symbol => Some(Ticker(word.to_owned())),
        }
    }
}

/// Characters that separate words.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '/' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '+' | '=')
}

/// Characters cut from the ends of a word: punctuation and Markdown around a symbol (`**NVDA**`, `TSLA.`, `"AMD"`).
fn is_edge_punctuation(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ':'
            | ';'
            | '!'
            | '?'
            | '"'
            | '\''
            | '*'
            | '_'
            | '~'
            | '`'
            | '('
            | ')'
            | '…'
            | '“'
            | '”'
            | '‘'
            | '’'
    )
}

/// Whether `inner` (between `<` and `>`) is Discord markup: a user, role or channel mention, a custom emoji or a
/// timestamp.
fn is_discord_markup(inner: &str) -> bool {
    let markup = ["@", "#", ":", "a:", "t:"].iter().any(|p| inner.starts_with(p));
    markup && !inner.is_empty() && !inner.contains(char::is_whitespace)
}

/// The words of `text` that could be symbols: cut at separators, without links or Discord mentions, trimmed of
/// edge punctuation and of a possessive `'s`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let first = rest.chars().next()?;
            // A Discord mention, channel, role, emoji or timestamp (`<@123>`, `<:name:id>`) is skipped whole.
            if first == '<'
                && let Some(end) = rest.find('>')
                && is_discord_markup(&rest[1..end])
            {
                rest = &rest[end + 1..];
                continue;
            }
            if is_separator(first) {
                rest = &rest[first.len_utf8()..];
                continue;
            }
            let end = rest.find(is_separator).unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            rest = after;
            if word.contains("://") || word.starts_with("www.") {
                continue;
            }
            let word = word.trim_start_matches(is_edge_punctuation);
            let word = word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")).unwrap_or(word);
            let word = word.trim_end_matches(is_edge_punctuation);
            // `$` stays in front (a cashtag); anything else left at the start is not a symbol.
            if !word.is_empty() {
                return Some(word);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check(text: &str, expected: &[&str]) {
        let found: Vec<String> = TickerRules::default().extract(text).into_iter().map(String::from).collect();
        assert_eq!(found, expected, "{text:?}");
    }

    #[test]
    fn real_plan_texts() {
        check("Long $amd over 152; TSLA weak. PPI 8:30 ET, no FOMC today. I trim at EOD", &["AMD", "TSLA"]);
        check("SPY: long above 600.10, target 603.40, stop 598.70. Watch 601 (yesterday's high).", &["SPY"]);
        check(
            "Intraday: QQQ long above 515.60 (overnight high), target 518. Skip it if NVDA opens below 180.",
            &["QQQ", "NVDA"],
        );
        check("News: GDP (2nd estimate) and jobless claims at 08:30 ET, PCE at 10:00 ET. Stay flat.", &[]);
        check("$BRK.B and BRK.B and BF.B; $brk.b again", &["BRK.B", "BF.B"]);
        check(
            "BTC-USD reclaiming 98k, $eth-usd lagging, ETH-BTC flat; btc-usd lower case is not one",
            &["BTC-USD", "ETH-USD", "ETH-BTC"],
        );
        check(
            "**NVDA** > 950, (AAPL) weak, \"MSFT\" flat, AMD's earnings, TSLA's too",
            &["NVDA", "AAPL", "MSFT", "AMD", "TSLA"],
        );
        check("AMD/NVDA pair; SMCI|DELL", &["AMD", "NVDA", "SMCI", "DELL"]);
        check("chart https://www.tradingview.com/x/NVDA123/ and https://cdn.discordapp.com/AMD.png", &[]);
        check("<@123456> <:PEPE:987> <#555> <t:1700000000:R> ping", &[]);
        check("U.S. data, E.G. this, PRE-MARKET gap, SPY-QQQ spread", &[]);
        check("nvda amd lower-case words are not tickers, but $nvda is", &["NVDA"]);
        check("$100 target, $5.50 stop, 8:30, 2025-11-10", &[]);
        check("GOOGLE is six letters; GOOGL is five", &["GOOGL"]);
        check("I AM LONG ON THE OPEN; $ON and $AI as cashtags", &["ON", "AI"]);
        check("NVDA NVDA $NVDA nvda", &["NVDA"]);
        check("Ünïcode wörds and ÉTÉ, then AMD…", &["AMD"]);
    }

    #[test]
    fn the_stoplist_and_the_universe_apply_to_bare_symbols_only() {
        let rules = TickerRules::new(["spy", "$QQQ"], None::<Vec<String>>);
        let found = |rules: &TickerRules, text: &str| -> Vec<String> {
            rules.extract(text).into_iter().map(String::from).collect()
        };
        assert_eq!(found(&rules, "SPY QQQ IWM $SPY"), ["IWM", "SPY"], "added stopwords, in any case or form");
        assert!(rules.is_stopword("fomc") && rules.is_stopword("SPY") && !rules.is_stopword("IWM"));
        let universe = TickerRules::new(std::iter::empty::<&str>(), Some(["NVDA", "amd"]));
        assert_eq!(found(&universe, "NVDA AMD TSLA $TSLA BTC-USD"), ["NVDA", "AMD", "TSLA", "BTC-USD"]);
        assert_ne!(rules.fingerprint(), TickerRules::default().fingerprint());
        assert_ne!(universe.fingerprint(), TickerRules::default().fingerprint());
        assert_eq!(TickerRules::default().fingerprint(), TickerRules::default().fingerprint());
    }

    #[test]
    fn the_default_stoplist_is_large_upper_case_and_has_the_words_of_trading_chat() {
        let words: BTreeSet<&str> = DEFAULT_STOPLIST.iter().copied().collect();
        assert!(words.len() > 300, "{} words", words.len());
        assert_eq!(words.len(), DEFAULT_STOPLIST.len(), "no word twice");
        for word in [
            "I", "A", "AM", "PM", "ET", "EST", "EOD", "HOD", "LOD", "ATH", "ATL", "CEO", "CFO", "IPO", "ETF", "USD",
            "CPI", "PPI", "PCE", "NFP", "GDP", "ISM", "FOMC", "FED", "RSI", "MACD", "EMA", "SMA", "VWAP", "OI", "IV",
            "DD", "IMO", "TP", "SL", "PT", "OK", "US", "USA", "EU", "UK", "NYSE",
        ] {
            assert!(words.contains(word), "{word}");
        }
        assert!(words.iter().all(|w| w.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn user_input_parses_in_any_case_with_or_without_a_dollar() {
        for (input, expected) in
            [("nvda", "NVDA"), ("$Nvda", "NVDA"), ("brk.b", "BRK.B"), ("$btc-usd", "BTC-USD"), ("F", "F")]
        {
            assert_eq!(Ticker::parse(input).unwrap().as_str(), expected, "{input}");
        }
        for bad in ["", "$", "GOOGLE", "NV DA", "BRK.", "BRK.BBB", "BTC-JPY", "123", "$$NVDA", " NVDA"] {
            assert!(Ticker::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn extraction_never_panics_and_is_idempotent(text in "\\PC{0,300}") {
            let rules = TickerRules::default();
            let tickers = rules.extract(&text);
            let again = rules.extract(&tickers.iter().map(|t| format!("${t}")).collect::<Vec<_>>().join(" "));
            prop_assert_eq!(&again, &tickers);
            prop_assert_eq!(rules.extract(&text), tickers, "the same text gives the same tickers");
        }

        #[test]
        fn extraction_of_symbol_like_text_is_idempotent(
            text in "(\\$?[A-Za-z]{1,6}([.-][A-Za-z]{1,4})?[ ,.;:'s!?/()*]{0,3}){0,30}"
        ) {
            let rules = TickerRules::default();
            let tickers = rules.extract(&text);
            let rendered: Vec<String> = tickers.iter().map(|t| format!("${t}")).collect();
            prop_assert_eq!(rules.extract(&rendered.join(" ")), tickers.clone());
            for ticker in &tickers {
                prop_assert_eq!(Ticker::parse(ticker.as_str()), Ok(ticker.clone()), "every extracted ticker parses");
            }
        }
    }
}
