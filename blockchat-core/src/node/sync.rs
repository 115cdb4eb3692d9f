//! Catching up: blocks held until their parent arrives, and the requests that fetch what is
//! missing, at most one per handled input; a request is not repeated while the same one to the
//! same peer is unanswered (for at most a round timeout).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::block::Block;
use crate::ids::{Address, BlockHash};
use crate::message::PeerMessage;
use crate::node::Output;
use crate::time::Time;

/// Orphan blocks and outstanding block requests.
#[derive(Debug)]
pub(super) struct CatchUp {
    limit: usize,
    // Blocks waiting for their parent, keyed by the parent's hash.
    orphans: BTreeMap<BlockHash, Vec<Arc<Block>>>,
    count: usize,
    // The request this input wants to make: (peer, first height), lowest height wins.
    wanted: Option<(Address, u64)>,
    // Unanswered request per peer: (first height, when).
    sent: BTreeMap<Address, (u64, Time)>,
    // Who sent the latest orphan, for retries.
    source: Option<Address>,
    // Whether a retry timer is pending.
    retry_armed: bool,
}

impl CatchUp {
    pub(super) fn new(limit: usize) -> CatchUp {
        CatchUp {
            limit,
            orphans: BTreeMap::new(),
            count: 0,
            wanted: None,
            sent: BTreeMap::new(),
            source: None,
            retry_armed: false,
        }
    }

    pub(super) fn orphans(&self) -> usize {
        self.count
    }

    /// Holds `block` (checked already); drops held blocks below `floor` first.
    pub(super) fn hold(&mut self, block: Arc<Block>, from: Address, floor: u64) {
        self.source = Some(from);
        if self.count >= self.limit {
            self.orphans.retain(|_, children| {
                children.retain(|b| b.index() >= floor);
                !children.is_empty()
            });
            self.count = self.orphans.values().map(Vec::len).sum();
        }
        if self.count >= self.limit {
            return;
        }
        let siblings = self.orphans.entry(block.previous_hash()).or_default();
        if !siblings.iter().any(|b| b.hash() == block.hash()) {
            siblings.push(block);
            self.count += 1;
        }
    }

    /// Whether `block` is already held.
    pub(super) fn holds(&self, block: &Block) -> bool {
        self.orphans.get(&block.previous_hash()).is_some_and(|s| s.iter().any(|b| b.hash() == block.hash()))
    }

    /// Drops every held block and stops asking: what they need lies beyond reach.
    pub(super) fn give_up(&mut self) {
        self.orphans.clear();
        self.count = 0;
        self.wanted = None;
        self.source = None;
    }

    /// The held children of `parent`, now that it is known.
    pub(super) fn take_children(&mut self, parent: &BlockHash) -> Vec<Arc<Block>> {
        let children = self.orphans.remove(parent).unwrap_or_default();
        self.count -= children.len();
        children
    }

    /// Forgets everything held below a rejected block.
    pub(super) fn discard_descendants(&mut self, rejected: &BlockHash) {
        let mut stack = vec![*rejected];
        while let Some(h) = stack.pop() {
            for child in self.take_children(&h) {
                stack.push(child.hash());
            }
        }
    }

    /// Notes that blocks from `height` should be asked of `peer`.
    pub(super) fn want(&mut self, peer: Address, height: u64) {
        match self.wanted {
            Some((_, h)) if h <= height => {}
            _ => self.wanted = Some((peer, height)),
        }
    }

    /// After a retry timer: if blocks are still held, ask the last orphan's sender again, from
    /// `from` (the bottom of the reorganisation window: whatever is missing lies above it).
    pub(super) fn retry(&mut self, from: u64) {
        self.retry_armed = false;
        if let (true, Some(peer)) = (self.count > 0, self.source) {
            self.sent.remove(&peer);
            self.want(peer, from);
        }
    }

    /// `peer` answered a request: the next one to it may go out at once.
    pub(super) fn answered(&mut self, peer: &Address) {
        self.sent.remove(peer);
    }

    /// Sends the wanted request unless the same one to that peer is still unanswered and
    /// younger than `throttle`.
    /// Returns whether to set a retry timer: blocks are held and none is pending.
    pub(super) fn flush(&mut self, now: Time, throttle: Duration, outputs: &mut Vec<Output>) -> bool {
        if let Some((peer, from)) = self.wanted.take() {
            let recent = self.sent.get(&peer).is_some_and(|(h, at)| *h == from && now < *at + throttle);
            if !recent {
                self.sent.insert(peer, (from, now));
                outputs.push(Output::Send { to: peer, message: PeerMessage::GetBlocks { from } });
            }
        }
        if self.count > 0 && !self.retry_armed {
            self.retry_armed = true;
            return true;
        }
        false
    }
}
