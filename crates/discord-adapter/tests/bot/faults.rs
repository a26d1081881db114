//! The fault matrix: a stream of plan messages while the connection drops, Discord asks to reconnect or invalidates
//! the session, heartbeats go unanswered, and REST answers 500 or 429. Every plan is stored exactly once and every
//! reply is eventually sent.
