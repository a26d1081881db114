//! The rules that vary by deployment: the roster, the market time zone, the chart cap, admins and coach posters.

use std::collections::HashMap;

use core_model::{Actor, CoachId, MarketTimeZone, RoleId, Roster, UserId};

/// Deployment rules the service enforces.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The coaches plans can be posted for.
    pub roster: Roster,
    /// Where "today" is computed.
    pub zone: MarketTimeZone,
    /// At most this many charts per plan.
    pub max_charts: usize,
    /// Users who may edit, delete and restore anyone's plan.
    pub admin_users: Vec<UserId>,
    /// Roles whose holders are admins.
    pub admin_roles: Vec<RoleId>,
    /// Coaches bound to the users allowed to post as them. A coach not listed (or listed with nobody) is open to all.
    pub posters: HashMap<CoachId, Vec<UserId>>,
}

impl Default for Policy {
    /// The default roster in `America/New_York`, 10 charts, no admins, every coach open to all.
    fn default() -> Self {
        Self {
            roster: Roster::default(),
            zone: MarketTimeZone::default(),
            max_charts: 10,
            admin_users: Vec::new(),
            admin_roles: Vec::new(),
            posters: HashMap::new(),
        }
    }
}

impl Policy {
    /// Whether the actor is an admin, by user id or by one of its roles.
    pub fn is_admin(&self, actor: &Actor) -> bool {
        self.admin_users.contains(&actor.user_id) || actor.roles.iter().any(|r| self.admin_roles.contains(r))
    }

    /// Whether the actor may post as `coach`: admins always; others when the coach has no posters or lists them.
    pub fn may_post_as(&self, actor: &Actor, coach: &CoachId) -> bool {
        match self.posters.get(coach) {
            Some(users) if !users.is_empty() => users.contains(&actor.user_id) || self.is_admin(actor),
            _ => true,
        }
    }
}
