//! Connection rules by remote address (`docs/protocol.md` §2.1, §6): at most
//! [`MAX_INBOUND_PER_ADDRESS`] inbound connections from one address, and no connection at all
//! with an address whose peer was banned, while the ban lasts. Peer ids cost nothing to make, an
//! address does; an IPv6 address counts by its /64, which one host gets as easily as one address.
//!
//! Loopback addresses are exempt unless [`Guard::new`] is told otherwise: several nodes on one
//! machine (tests, a small farm) all connect from 127.0.0.1.

use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::task::{Context, Poll};
use std::time::Instant;

/// The most inbound connections kept from one address (a peer may hold two).
pub const MAX_INBOUND_PER_ADDRESS: u32 = 8;

/// The IP address of `addr` (an IPv4-mapped IPv6 address as IPv4), if it has one.
pub fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4)),
        _ => None,
    })
}

/// What a rule counts `ip` as: an IPv4 address itself, an IPv6 address its /64.
fn rule_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Why the guard refused a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The address belongs to a banned peer.
    Banned(IpAddr),
    /// The address already holds [`MAX_INBOUND_PER_ADDRESS`] inbound connections.
    TooMany(IpAddr),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Banned(ip) => write!(f, "address {ip} is banned"),
            Refused::TooMany(ip) => write!(
                f,
                "address {ip} already holds {MAX_INBOUND_PER_ADDRESS} inbound connections"
            ),
        }
    }
}

impl std::error::Error for Refused {}

/// The behaviour that applies the rules; the actor bans addresses through it.
#[derive(Debug)]
pub struct Guard {
    /// Whether the rules apply to loopback addresses too.
    loopback: bool,
    /// Inbound connections established, by address.
    inbound: HashMap<IpAddr, u32>,
    /// Banned addresses, until when.
    banned: HashMap<IpAddr, Instant>,
}

impl Guard {
    /// A guard without bans; `loopback` applies its rules to loopback addresses too.
    pub fn new(loopback: bool) -> Self {
        Guard {
            loopback,
            inbound: HashMap::new(),
            banned: HashMap::new(),
        }
    }

    /// The address of `addr` a rule applies to, unless it is exempt.
    fn key(&self, addr: &Multiaddr) -> Option<IpAddr> {
        ip_of(addr)
            .filter(|ip| self.loopback || !ip.is_loopback())
            .map(rule_key)
    }

    /// Refuses connections with the address of `addr` until `until`; `false` when the address
    /// is exempt (loopback) or not an IP address.
    pub fn ban(&mut self, addr: &Multiaddr, until: Instant) -> bool {
        let Some(ip) = self.key(addr) else {
            return false;
        };
        let now = Instant::now();
        self.banned.retain(|_, u| *u > now);
        let entry = self.banned.entry(ip).or_insert(until);
        *entry = (*entry).max(until);
        true
    }

    /// Whether connections with the address of `addr` are refused at `now`.
    pub fn is_banned(&self, addr: &Multiaddr, now: Instant) -> bool {
        self.key(addr)
            .and_then(|ip| self.banned.get(&ip))
            .is_some_and(|until| *until > now)
    }

    fn check(&self, remote: &Multiaddr, inbound: bool) -> Result<(), ConnectionDenied> {
        let Some(ip) = self.key(remote) else {
            return Ok(());
        };
        if self.banned.get(&ip).is_some_and(|u| *u > Instant::now()) {
            return Err(ConnectionDenied::new(Refused::Banned(ip)));
        }
        if inbound && self.inbound.get(&ip).copied().unwrap_or(0) >= MAX_INBOUND_PER_ADDRESS {
            return Err(ConnectionDenied::new(Refused::TooMany(ip)));
        }
        Ok(())
    }

    fn counted(&self, endpoint: &ConnectedPoint) -> Option<IpAddr> {
        match endpoint {
            ConnectedPoint::Listener { send_back_addr, .. } => self.key(send_back_addr),
            ConnectedPoint::Dialer { .. } => None,
        }
    }
}

impl NetworkBehaviour for Guard {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        // Refused before the handshake costs anything; checked again once established, when
        // connections handshaking at the same time have been counted.
        self.check(remote, true)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(remote, true)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        remote: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(remote, false)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished { endpoint, .. }) => {
                if let Some(ip) = self.counted(endpoint) {
                    *self.inbound.entry(ip).or_insert(0) += 1;
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { endpoint, .. }) => {
                if let Some(ip) = self.counted(endpoint) {
                    if let Some(n) = self.inbound.get_mut(&ip) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.inbound.remove(&ip);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
