//! The node's answers to API calls, from its host's state.

use std::sync::atomic::Ordering;

use blockchat_core::{Address, TxKind, TxRequest};
use blockchat_host::Plan;
use tracing::info;

use super::Driver;
use crate::api::metrics::Metrics;
use crate::api::{ApiError, PeerView, Phase, Recipient, Reply, Request, Response, Status, Waiting, views};
use crate::daemon::clock;

impl Driver {
    fn resolve(&self, to: Recipient) -> Result<Address, ApiError> {
        match to {
            Recipient::Address(a) => Ok(a),
            Recipient::Id(id) => self
                .roster
                .member(id)
                .map(|m| m.key)
                .ok_or(ApiError::UnknownNode { id, last: self.roster.len().saturating_sub(1) as u32 }),
        }
    }

    fn submit(&mut self, receiver: Address, kind: TxKind) -> Response {
        match self.host.submit(clock::now(), TxRequest { receiver, kind }) {
            Ok(tx) => Ok(Reply::Submitted(crate::api::Submitted {
                id: tx.id(),
                nonce: tx.nonce(),
                fee: crate::api::Amount(tx.fee()),
            })),
            Err(error) => {
                *self.refused.entry(error.name().to_string()).or_default() += 1;
                Err(ApiError::from(&error))
            }
        }
    }

    pub(super) fn on_request(&mut self, request: Request) -> Response {
        let me = self.host.node().address();
        let roster = self.roster.clone();
        let node = self.host.node();
        let chain = node.chain();
        Ok(match request {
            Request::Status {} => Reply::Status(Box::new(self.status())),
            Request::Block { height, hash } => {
                let block = match (height, hash) {
                    (Some(_), Some(_)) => {
                        return Err(ApiError::InvalidParams {
                            method: "block".into(),
                            detail: "give height or hash, not both".into(),
                        });
                    }
                    (Some(h), None) => chain
                        .blocks()
                        .get(h as usize)
                        .ok_or(ApiError::NoBlockAtHeight { height: h, tip: chain.height() })?,
                    (None, Some(h)) => {
                        chain.blocks().iter().find(|b| b.hash() == h).ok_or(ApiError::NoSuchBlock { hash: h })?
                    }
                    (None, None) => chain.tip(),
                };
                Reply::Block(views::block_view(&roster, block))
            }
            Request::Blocks { from, limit } => Reply::Blocks(
                chain.blocks_from(from, limit.min(1_000)).iter().map(|b| views::block_summary(&roster, b)).collect(),
            ),
            Request::Transaction { id } => {
                let committed = chain
                    .blocks()
                    .iter()
                    .rev()
                    .find_map(|b| b.transactions().iter().find(|t| t.id() == id).map(|t| (b, t)));
                match committed {
                    Some((b, t)) => Reply::Transaction(views::committed(&roster, chain, b, t)),
                    None => {
                        let (t, _) = node
                            .mempool()
                            .iter()
                            .find(|(t, _)| t.id() == id)
                            .ok_or(ApiError::NoSuchTransaction { id })?;
                        Reply::Transaction(crate::api::Located {
                            transaction: views::tx_view(&roster, t, t.fee()),
                            placement: crate::api::Placement::Pending,
                        })
                    }
                }
            }
            Request::Mempool { limit } => Reply::Mempool(
                node.mempool().iter().take(limit).map(|(t, _)| views::tx_view(&roster, t, t.fee())).collect(),
            ),
            Request::Account { holder } => {
                let address = match holder {
                    None => me,
                    Some(r) => self.resolve(r)?,
                };
                Reply::Account(views::account(&roster, node.ledger(), node.mempool(), address))
            }
            Request::Ledger {} => Reply::Ledger(crate::api::LedgerView {
                accounts: views::accounts(&roster, node.ledger(), node.mempool()),
                supply: crate::api::Amount(node.ledger().total_supply()),
            }),
            Request::Peers {} => Reply::Peers(
                roster
                    .members()
                    .iter()
                    .map(|m| PeerView {
                        id: m.id,
                        endpoint: m.address.clone(),
                        address: m.key,
                        connected: m.key != me && self.host.is_up(&m.key),
                        this_node: m.key == me,
                    })
                    .collect(),
            ),
            Request::Shares {} => Reply::Shares(views::shares(&roster, chain)),
            Request::History { limit } => Reply::History(
                chain
                    .blocks()
                    .iter()
                    .rev()
                    .flat_map(|b| b.transactions().iter().rev().map(move |t| (b, t)))
                    .filter(|(_, t)| t.sender() == me || t.receiver() == me)
                    .take(limit)
                    .map(|(b, t)| views::committed(&roster, chain, b, t))
                    .collect(),
            ),
            Request::SendCoins { to, amount } => {
                let to = self.resolve(to)?;
                return self.submit(to, TxKind::Coins { amount: amount.units() });
            }
            Request::SendMessage { to, text } => {
                let to = self.resolve(to)?;
                return self.submit(to, TxKind::Message { text });
            }
            Request::Stake { amount } => return self.submit(Address::ZERO, TxKind::Stake { amount: amount.units() }),
            Request::Shutdown {} => {
                info!("shutdown requested");
                self.stopping = true;
                Reply::ShuttingDown
            }
            Request::Metrics => Reply::Metrics(Box::new(self.metrics())),
        })
    }

    fn metrics(&self) -> Metrics {
        let stats = self.host.stats();
        Metrics {
            height: self.host.node().chain().height(),
            peers_connected: self.host.peers_up(),
            peers: self.roster.len().saturating_sub(1),
            mempool: self.host.node().mempool().len(),
            txs_accepted: stats.txs_accepted,
            txs_refused: self.refused.clone(),
            blocks_committed: stats.committed_blocks,
            blocks_rejected: stats.blocks_rejected,
            blocks_reverted: stats.reverted_blocks,
            block_interval: self.intervals.clone(),
            bytes_in: self.load.bytes_in,
            bytes_out: self.load.bytes_out,
            bad_connections: self.counters.bad_connections.load(Ordering::Relaxed),
        }
    }

    fn status(&self) -> Status {
        let node = self.host.node();
        let chain = node.chain();
        let stats = self.host.stats();
        let peers = self.roster.len() - 1;
        let phase = if self.host.is_ready() {
            Phase::Ready
        } else {
            Phase::Connecting { connected: self.host.peers_up(), peers }
        };
        let client = self.host.client();
        let waiting = client.waiting().map(|(line, error)| {
            let number = match client.plan() {
                Plan::Lines(lines) => lines.get(line).map_or(line + 1, |l| l.number),
                _ => line + 1,
            };
            Waiting { line: number, reason: error.to_string() }
        });
        Status {
            phase,
            id: Some(self.roster.me),
            nodes: self.roster.len(),
            capacity: chain.params().capacity,
            max_block_interval_ms: chain.params().max_block_interval.map(|d| d.as_millis() as u64),
            height: chain.height(),
            tip: Some(chain.tip().hash()),
            round: node.round(),
            peers_connected: self.host.peers_up(),
            mempool: node.mempool().len(),
            committed_txs: chain.blocks().iter().skip(1).map(|b| b.transactions().len() as u64).sum(),
            rejected_local: stats.own_rejected,
            rejected_from_peers: stats.peer_txs_rejected,
            blocks_rejected: stats.blocks_rejected,
            bad_connections: self.counters.bad_connections.load(Ordering::Relaxed),
            reverted: stats.reverted_blocks,
            dropped_to_down_links: stats.dropped_to_down_links,
            load: self.load,
            work: self.work,
            workload: client.status(),
            waiting,
        }
    }
}
