//! The block explorer in a real browser: headless Chromium driven through chromedriver
//! (WebDriver), against a 3-node network. Asserts on what a person sees and saves screenshots.
//! Ignored by `cargo test` (it needs Chromium); `blockchat-net/scripts/browser.sh` installs
//! Chromium and runs it.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blockchat_core::UNITS_PER_BCC;
use blockchat_net::api::client::Client;
use blockchat_net::api::{Amount, Placement, Recipient, Reply, Request};
use fantoccini::{ClientBuilder, Locator};
use support::{Net, PASSWORD, serial};

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

fn submit(api: &mut Client, request: Request) -> blockchat_core::TxId {
    match api.call(&request) {
        Ok(Ok(Reply::Submitted(s))) => s.id,
        other => panic!("{request:?}: {other:?}"),
    }
}

#[test]
#[ignore = "needs Chromium and chromedriver: run by blockchat-net/scripts/browser.sh"]
fn the_explorer_shows_a_live_chain_in_a_real_browser() {
    let _guard = serial();
    let chromedriver = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).or_else(|| which("chromedriver"));
    let chromedriver = chromedriver.expect("chromedriver is not installed (apt-get install chromium-driver)");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    let mut net = Net::new(32, 3, 2);
    net.start_all(|_| Vec::new());
    let url = net.api(0).url.clone();
    let mut api = Client::new(net.api(0), Duration::from_secs(20));
    let port = 9532;
    let driver = Command::new(&chromedriver)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let _driver = Driver(driver);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"] }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut browser = None;
        let started = Instant::now();
        while browser.is_none() {
            match ClientBuilder::new(connector.clone()).capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(c) => browser = Some(c),
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        }
        let browser = browser.expect("session");
        let wait = Duration::from_secs(20);
        let text = |css: &'static str| {
            let browser = browser.clone();
            async move { browser.find(Locator::Css(css)).await.expect(css).text().await.expect("text") }
        };

        // Without the password the page asks for it, and shows no data.
        browser.goto(&format!("{url}/")).await.expect("open");
        let deadline = Instant::now() + wait;
        while !browser.find(Locator::Css("#login")).await.expect("#login").is_displayed().await.expect("displayed") {
            assert!(Instant::now() < deadline, "the page did not ask for the password");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(text("#height").await, "?", "data shown before signing in");
        // Signed in through a link that carries the password.
        browser.goto(&format!("{url}/#token={PASSWORD}")).await.expect("open");
        browser.wait().at_most(wait).for_element(Locator::Css("#blocks tr.block-row")).await.expect("the blocks table");
        assert!(!browser.current_url().await.unwrap().as_str().contains(PASSWORD), "the secret stays in the address bar");
        let first: u64 = text("#height").await.parse().expect("a height");

        // A message with markup in it, and some coins: the height grows on the open page.
        let raw = "<b>bold?</b> <img src=x onerror=alert(1)> & \"quoted\"";
        let message = submit(&mut api, Request::SendMessage { to: Recipient::Id(1), text: raw.into() });
        submit(&mut api, Request::SendCoins { to: Recipient::Id(2), amount: Amount(3 * UNITS_PER_BCC) });
        let deadline = Instant::now() + wait;
        loop {
            let now: u64 = text("#height").await.parse().unwrap_or(0);
            if now > first {
                break;
            }
            assert!(Instant::now() < deadline, "the page's height stayed at {first}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        browser.wait().at_most(wait).for_element(Locator::Css("#live.on")).await.expect("the live stream");
        // The latest-blocks table follows, newest first.
        let deadline = Instant::now() + wait;
        while text("#blocks tr.block-row td").await.parse::<u64>().unwrap_or(0) <= first {
            assert!(Instant::now() < deadline, "the blocks table did not show the new block");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let home = browser.screenshot().await.expect("screenshot");
        std::fs::write(shots.join("home.png"), home).expect("save");

        // The message appears in its block, as text.
        let Ok(Ok(Reply::Transaction(found))) = api.call(&Request::Transaction { id: message }) else { panic!() };
        let Placement::Committed { height, .. } = found.placement else { panic!("not committed: {found:?}") };
        browser.goto(&format!("{url}/#/block/{height}")).await.expect("block page");
        browser.wait().at_most(wait).for_element(Locator::Css("#block")).await.expect("the block page");
        assert_eq!(text("main h2").await, format!("Block {height}"));
        assert_eq!(text("q.message").await, raw, "the message shows as it was sent");
        assert!(browser.find_all(Locator::Css("main b, main img")).await.unwrap().is_empty(), "markup was injected");
        std::fs::write(shots.join("block.png"), browser.screenshot().await.unwrap()).expect("save");

        // The transaction's page, then an account.
        browser.goto(&format!("{url}/#/tx/{message}")).await.unwrap();
        browser.wait().at_most(wait).for_element(Locator::Css("#transaction")).await.expect("the transaction page");
        assert!(text("#transaction").await.contains(&format!("in block #{height}")));
        browser.goto(&format!("{url}/#/account/1")).await.unwrap();
        browser.wait().at_most(wait).for_element(Locator::Css("#account")).await.expect("the account page");
        assert!(text("main h2").await.contains("node 1"));

        // A bad block hash gives a clear not-found page.
        browser.goto(&format!("{url}/#/block/{}", "ab".repeat(32))).await.unwrap();
        browser.wait().at_most(wait).for_element(Locator::Css("#not-found")).await.expect("a not-found page");
        let said = text("#not-found").await;
        assert!(said.contains("Block not found") && said.contains("no block abababab"), "{said}");
        std::fs::write(shots.join("not-found.png"), browser.screenshot().await.unwrap()).expect("save");
        browser.close().await.expect("close");
    });
    println!("explorer: screenshots in {}", shots.display());
}
