//! The course's bootstrap: nodes join the bootstrap with their public key and get ids 1..n−1 in
//! join order; when all n have joined, the bootstrap sends everyone the roster and the genesis.

use std::time::Duration;

use blockchat_core::{NetworkParams, Wallet, format_bcc};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::timeout;
use tracing::{info, warn};

use crate::api::Phase;
use crate::api::server::{SharedGate, set_phase};
use crate::daemon::admission::{self, Admission};
use crate::daemon::clock;
use crate::daemon::handshake;
use crate::daemon::peer::HANDSHAKE_TIMEOUT;
use crate::daemon::roster::{Member, NetworkInfo, Roster};
use crate::daemon::wire::{self, Answer, Opening, WireError};

/// A verified join request waiting for its id.
struct Pending {
    request: wire::JoinRequest,
    id: oneshot::Sender<Result<u32, String>>,
}

/// What the bootstrap itself contributes to the roster.
#[derive(Debug, Clone)]
pub struct BootstrapPlan {
    /// Nodes in the network, the bootstrap included.
    pub nodes: u32,
    /// The network's parameters, recorded in the genesis.
    pub params: NetworkParams,
    /// The bootstrap's stake, in units.
    pub stake: u64,
    /// The bootstrap's dial address.
    pub advertise: String,
    /// Who may join.
    pub admission: Admission,
    /// Also show joins on the terminal (the prompt sends the logs to a file meanwhile).
    pub show_progress: bool,
}

/// Runs the bootstrap's side until all `plan.nodes` have joined; returns the network.
/// Joiners' connections stay open in the background until they have been sent the roster.
pub async fn run_bootstrap(
    listener: &TcpListener,
    wallet: &Wallet,
    plan: &BootstrapPlan,
    max_frame: usize,
    gate: &SharedGate,
) -> Result<NetworkInfo, WireError> {
    let mut members = vec![Member { id: 0, key: wallet.address(), address: plan.advertise.clone(), stake: plan.stake }];
    let (joins, mut pending) = mpsc::channel::<Pending>(64);
    let (roster_tx, roster_rx) = watch::channel::<Option<NetworkInfo>>(None);
    let say = |line: String| {
        if plan.show_progress {
            println!("{line}");
        }
        info!("{line}");
    };
    say(format!("bootstrap: waiting for {} nodes to join at {}", plan.nodes - 1, plan.advertise));
    set_phase(gate, Phase::WaitingForJoins { missing: plan.nodes - 1 }, Some(0));
    while (members.len() as u32) < plan.nodes {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, from)) = accepted else { continue };
                let (joins, roster_rx, nodes) = (joins.clone(), roster_rx.clone(), plan.nodes);
                let (admission, me) = (plan.admission.clone(), wallet.address());
                tokio::spawn(async move {
                    let joiner = Joiner { joins, roster: roster_rx, nodes, max_frame, admission, me };
                    if let Err(e) = serve_joiner(stream, joiner).await {
                        warn!(%from, "join refused or failed: {e}");
                    }
                });
            }
            Some(Pending { request, id }) = pending.recv() => {
                let answer = admit(&mut members, &request, plan.params.initial_balance);
                if let Ok(k) = answer {
                    let missing = plan.nodes - members.len() as u32;
                    say(format!(
                        "node {k} joined from {} with stake {} BCC ({missing} still to join)",
                        request.advertise,
                        format_bcc(request.stake)
                    ));
                    set_phase(gate, Phase::WaitingForJoins { missing }, Some(0));
                }
                let _ = id.send(answer);
            }
        }
    }
    let info = NetworkInfo::build(plan.params, members, clock::now())?;
    Roster::new(info.clone(), wallet.address())?;
    say(format!("all {} nodes joined; sending the roster and the genesis", plan.nodes));
    let _ = roster_tx.send(Some(info.clone()));
    // Give the joiners' tasks a moment to send it before the listener changes hands.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(info)
}

/// Assigns an id: the next in join order, or the same one to a key that joined before.
fn admit(members: &mut Vec<Member>, request: &wire::JoinRequest, balance: u64) -> Result<u32, String> {
    if let Some(m) = members.iter_mut().find(|m| m.key == request.key) {
        m.address = request.advertise.clone();
        m.stake = request.stake;
        return Ok(m.id);
    }
    if let Some(m) = members.iter().find(|m| m.address == request.advertise) {
        return Err(format!("address {} is already node {}'s", request.advertise, m.id));
    }
    if request.stake > balance {
        return Err(format!(
            "a stake of {} BCC is more than the {} BCC each node starts with",
            format_bcc(request.stake),
            format_bcc(balance)
        ));
    }
    if !request.advertise.contains(':') {
        return Err(format!("'{}' is not a host:port address", request.advertise));
    }
    let id = members.len() as u32;
    members.push(Member { id, key: request.key, address: request.advertise.clone(), stake: request.stake });
    Ok(id)
}

/// What serving one joiner's connection needs.
struct Joiner {
    joins: mpsc::Sender<Pending>,
    roster: watch::Receiver<Option<NetworkInfo>>,
    nodes: u32,
    max_frame: usize,
    admission: Admission,
    /// The bootstrap's key (the prober's, in the reachability check).
    me: blockchat_core::Address,
}

async fn serve_joiner(stream: TcpStream, joiner: Joiner) -> Result<(), WireError> {
    let Joiner { joins, mut roster, nodes, max_frame, admission, me } = joiner;
    // What a joiner sends is small; the roster it receives may be large.
    let mut framed = wire::framed(stream, wire::HANDSHAKE_MAX_FRAME.min(max_frame));
    let result = async {
        let (ours, _theirs, opening) = timeout(HANDSHAKE_TIMEOUT, handshake::accept_opening(&mut framed))
            .await
            .map_err(|_| WireError::Timeout)??;
        let Opening::Join(request) = opening else {
            return Err(WireError::Refused("the network is still forming; only joins are accepted".into()));
        };
        handshake::verify_join(&request, &ours)?;
        admission.check(&request, &ours)?;
        admission::probe(&request, &me).await?;
        let (tx, rx) = oneshot::channel();
        joins.send(Pending { request, id: tx }).await.map_err(|_| WireError::Refused("bootstrap finished".into()))?;
        let id = rx.await.map_err(|_| WireError::Refused("bootstrap finished".into()))?.map_err(WireError::Refused)?;
        Ok(id)
    }
    .await;
    let id = match result {
        Ok(id) => id,
        Err(e) => {
            let _ = wire::send(&mut framed, &Answer::Refused(e.to_string())).await;
            return Err(e);
        }
    };
    wire::send(&mut framed, &Answer::Admitted { id, nodes }).await?;
    let info = loop {
        if let Some(info) = roster.borrow_and_update().clone() {
            break info;
        }
        if roster.changed().await.is_err() {
            return Err(WireError::Closed);
        }
    };
    wire::send(&mut framed, &Answer::Network(info)).await
}

/// What a joining node asks for.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    /// The bootstrap's address.
    pub bootstrap: String,
    /// The address other nodes should dial.
    pub advertise: String,
    /// The stake asked for, in units.
    pub stake: u64,
    /// Largest frame accepted.
    pub max_frame: usize,
    /// The join token, if the bootstrap requires one.
    pub token: Option<String>,
}

/// Joins through the bootstrap, retrying the connection with backoff; returns the validated
/// network.
pub async fn join(
    plan: &JoinPlan,
    wallet: &Wallet,
    gate: &SharedGate,
    listener: &TcpListener,
) -> Result<Roster, WireError> {
    // The bootstrap checks that we answer at our advertised address while it admits us.
    tokio::select! {
        joined = join_with_retries(plan, wallet, gate) => joined,
        never = admission::answer_probes(listener, wallet) => match never {},
    }
}

async fn join_with_retries(plan: &JoinPlan, wallet: &Wallet, gate: &SharedGate) -> Result<Roster, WireError> {
    let mut backoff = Duration::from_millis(100);
    let bootstrap = &plan.bootstrap;
    loop {
        set_phase(gate, Phase::Joining { bootstrap: bootstrap.clone() }, None);
        match join_once(plan, wallet, gate).await {
            Ok(roster) => return Ok(roster),
            Err(e @ (WireError::Refused(_) | WireError::Network(_) | WireError::WrongVersion { .. })) => return Err(e),
            Err(e) => warn!("joining via {bootstrap} failed: {e}; retrying in {backoff:?}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn join_once(plan: &JoinPlan, wallet: &Wallet, gate: &SharedGate) -> Result<Roster, WireError> {
    let stream =
        timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&plan.bootstrap)).await.map_err(|_| WireError::Timeout)??;
    let mut framed = wire::framed(stream, plan.max_frame);
    let theirs = timeout(HANDSHAKE_TIMEOUT, handshake::exchange_greetings(&mut framed, handshake::new_challenge()))
        .await
        .map_err(|_| WireError::Timeout)??;
    let request = handshake::sign_join(wallet, plan.advertise.clone(), plan.stake, plan.token.as_deref(), &theirs);
    wire::send(&mut framed, &Opening::Join(request)).await?;
    loop {
        match wire::recv::<Answer>(&mut framed, "bootstrap answer").await? {
            Answer::Admitted { id, .. } => {
                info!("joined as node {id}; waiting for the others");
                set_phase(gate, Phase::WaitingForRoster, Some(id));
            }
            Answer::Network(info) => {
                let roster = Roster::new(info, wallet.address())?;
                info!("received the roster of {} nodes and genesis {}", roster.len(), roster.genesis_hash().short());
                return Ok(roster);
            }
            Answer::Refused(reason) => return Err(WireError::Refused(reason)),
            Answer::Hello(_) => return Err(WireError::Refused("unexpected hello from the bootstrap".into())),
        }
    }
}
