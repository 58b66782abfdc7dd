//! Where a complaint came from. A leaf: intake stores the channel, routing
//! counts the public ones for bursts, the case list filters on it.

/// Every channel a complaint can arrive through.
pub const CHANNELS: &[&str] = &["web", "hotline", "letter", "visit", "email", "open311"];

/// The channels anyone may file through without an account: limited per
/// client address, and counted for bursts.
pub const PUBLIC_CHANNELS: &[&str] = &["web", "open311"];
