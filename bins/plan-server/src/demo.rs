//! `--seed-demo`: a realistic day of plans from the four default coaches, posted through the sandbox's local
//! Discord like a coach would (so they go through the bot, the service and the database), with a chart attachment
//! and a TradingView link among them.

use discord_emulator::AttachmentSpec;
use service::PlanService;

use crate::sandbox::{Console, find_user};

/// A candlestick chart screenshot, attached to the day trading plan.
pub(crate) const CHART_PNG: &[u8] = include_bytes!("../assets/demo-chart.png");

/// One demo post.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoPlan {
    /// The coach's id in the default roster.
    pub coach: &'static str,
    /// The sandbox user who posts it.
    pub user: &'static str,
    /// The plan text, after `!plan <coach>`.
    pub text: &'static str,
    /// Whether the chart screenshot is attached.
    pub with_chart: bool,
}

/// The demo day.
pub(crate) const DEMO_PLANS: &[DemoPlan] = &[
    DemoPlan {
        coach: "d",
        user: "ann",
        text: "Bias: long above yesterday's high (948.20).\n\
               NVDA: long over 952 (premarket high), stop 944, targets 960 / 968.\n\
               TSLA: short under 238.50 if SPY loses VWAP, stop 241.\n\
               No entries in the first 5 minutes; size down into the 10:00 data.",
        with_chart: true,
    },
    DemoPlan {
        coach: "i",
        user: "ivan",
        text: "SPY 5-min: overnight range 512.40-515.80. Fade the edges until a 15-min close outside.\n\
               QQQ: a reclaim of 438 is a long to 441, stop 436.80.\n\
               Chart: https://www.tradingview.com/x/Qk7dW2pL/",
        with_chart: false,
    },
    DemoPlan {
        coach: "s",
        user: "sara",
        text: "Holding AMD (entry 151.20); stop raised to 149.\n\
               New idea: MSFT pullback to the 50-day (~412); buy the first higher low, stop under 405.\n\
               XLE weak against SPY: no new energy longs this week.",
        with_chart: false,
    },
    DemoPlan {
        coach: "n",
        user: "nick",
        text: "08:30 ET jobless claims; 10:00 ET ISM services; 14:00 ET FOMC minutes.\n\
               After the close: CRM and SNOW earnings.\n\
               Expect chop into 14:00: keep size small until the minutes are out.",
        with_chart: false,
    },
];

/// Posts the demo day through the console, skipping coaches that are not in the roster or already have a plan today.
pub(crate) async fn seed(console: &mut Console<'_>, service: &PlanService) {
    println!("seeding a demo day: one plan per coach, posted through the local Discord");
    for demo in DEMO_PLANS {
        let Ok(coach) = service.parse_coach(demo.coach) else {
            println!("(demo: coach {} is not in the configured roster; skipped)", demo.coach);
            continue;
        };
        match service.plan(&coach, None).await {
            Ok(Some(plan)) => {
                println!("(demo: coach {} already has today's plan, by {}; skipped)", coach, plan.author.display_name);
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                println!("(demo: cannot read coach {coach}'s plan: {error}; skipped)");
                continue;
            }
        }
        let Some(user) = find_user(demo.user) else { continue };
        let attachments =
            if demo.with_chart { vec![AttachmentSpec::new("nvda-5min.png", CHART_PNG)] } else { Vec::new() };
        if console.prefix_commands() {
            let text = format!("{}plan {}\n{}", console.prefix(), demo.coach, demo.text);
            console.post(user, text, attachments).await;
        } else {
            // Slash commands only: the same plan through /plan, its chart as the command's attachment.
            console.slash(user, &format!("plan {} {}", demo.coach, demo.text), attachments).await;
        }
    }
}
