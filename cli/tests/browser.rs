//! The browser half of checkout, in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, started here on a free port) through `hanpay demo --browser`. For Toss
//! Payments, PortOne and NICEPAY: card → the order page shows the order confirmed and the
//! webhook the pipeline applied; decline (and a closed window) → the fail page shows the PG's
//! code (Toss and PortOne: NICEPAY documents no window failure codes); virtual account →
//! issued, deposited through the fake's control API → order confirmed.
//! One screenshot per path under `target/browser-artifacts/`.
//!
//! Skips with a loud message only when no chromedriver is found (`HANPAY_CHROMEDRIVER`, then
//! `chromedriver` on `PATH`); `scripts/test.sh` installs Debian's `chromium` and
//! `chromium-driver` when they are missing, so CI runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The bound on every wait for the page (the machine may be slow; nothing here sleeps for a
/// fixed time).
const WAIT: Duration = Duration::from_secs(60);

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HANPAY_CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    on_path("chromedriver").or_else(|| {
        ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    })
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HANPAY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| on_path(n))
}

/// `target/browser-artifacts/` (next to the binary's profile directory, so it follows
/// `CARGO_TARGET_DIR`).
fn artifacts() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_hanpay"));
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `check` until it holds, at most [`WAIT`].
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Chromedriver {
    _child: Child,
    url: String,
}

async fn start_chromedriver(path: &Path) -> Chromedriver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    until("chromedriver ready", || {
        let status = status.clone();
        async move {
            match reqwest::get(&status).await {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            }
        }
    })
    .await;
    Chromedriver { _child: child, url }
}

struct Demo {
    _child: Child,
    shop: String,
    toss: String,
    portone: String,
    nicepay: String,
}

/// Starts `hanpay demo --browser` on a free port and reads the URLs it prints.
async fn start_demo() -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanpay"))
        .args(["demo", "--browser", "--shop-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut shop, mut toss, mut portone, mut nicepay) = (None, None, None, None);
    tokio::time::timeout(WAIT, async {
        while shop.is_none() || toss.is_none() || portone.is_none() || nicepay.is_none() {
            let line = lines.next_line().await.unwrap().expect("the demo exited");
            if let Some(u) = line.strip_prefix("shop: ") {
                shop = Some(u.trim_end_matches('/').to_owned());
            } else if let Some(u) = line.strip_prefix("toss: ") {
                toss = Some(u.to_owned());
            } else if let Some(u) = line.strip_prefix("portone: ") {
                portone = Some(u.to_owned());
            } else if let Some(u) = line.strip_prefix("nicepay: ") {
                nicepay = Some(u.to_owned());
            }
        }
    })
    .await
    .expect("the demo printed its URLs");
    // Keep reading so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Demo {
        _child: child,
        shop: shop.unwrap(),
        toss: toss.unwrap(),
        portone: portone.unwrap(),
        nicepay: nicepay.unwrap(),
    }
}

async fn browser(driver: &Chromedriver) -> Client {
    let chromium = chromium().expect("chromedriver is installed but no chromium was found");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=900,1000"],
        }),
    );
    // chromedriver speaks plain HTTP on loopback.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// Waits for the element `css` and returns it.
async fn wait(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn click(client: &Client, css: &str) {
    wait(client, css).await.click().await.unwrap();
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

#[derive(Clone, Copy)]
struct Pg {
    id: &'static str,
    /// The window's failure buttons: `(button, the code the fail page shows, a text its
    /// message contains, screenshot name)`.
    failures: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

const TOSS: Pg = Pg {
    id: "tosspayments",
    failures: &[
        ("#decline", "REJECT_CARD_COMPANY", "", "decline"),
        ("#close", "PAY_PROCESS_CANCELED", "", "close"),
    ],
};

const PORTONE: Pg = Pg {
    id: "portone",
    failures: &[
        (
            "#decline",
            "FAILURE_TYPE_PG",
            "REJECT_CARD_COMPANY",
            "decline",
        ),
        ("#close", "FAILURE_TYPE_PG", "PAY_PROCESS_CANCELED", "close"),
    ],
};

const NICEPAY: Pg = Pg {
    id: "nicepay",
    failures: &[],
};

/// Opens the shop's checkout for `pg` and presses its pay button (the widget is rendered
/// first); returns at the PG's window.
async fn checkout(client: &Client, demo: &Demo, pg: Pg, virtual_account: bool) -> String {
    client
        .goto(&format!("{}/checkout/{}", demo.shop, pg.id))
        .await
        .unwrap();
    let order_id = wait(client, "#order-id").await.text().await.unwrap();
    wait(client, "#pay:not([disabled])").await;
    if virtual_account {
        click(client, "input[value=\"VIRTUAL_ACCOUNT\"]").await;
    }
    click(client, "#pay").await;
    // The PG's window, served by the fake, shows the amount in 원.
    let amount = wait(client, "main #amount").await.text().await.unwrap();
    assert_eq!(amount, "58,000원");
    order_id
}

async fn card(client: &Client, demo: &Demo, pg: Pg) {
    let order_id = checkout(client, demo, pg, false).await;
    click(client, "#pay-card").await;
    wait(client, "#order-status[data-status=\"confirmed\"]").await;
    assert_eq!(
        wait(client, "#order-id").await.text().await.unwrap(),
        order_id
    );
    let applied = wait(client, "#webhooks li[data-action=\"ConfirmOrder\"]").await;
    assert!(applied.text().await.unwrap().contains("PAID"));
    screenshot(client, &format!("{}-card", pg.id)).await;
    // Reloading the success page does not confirm twice, nor show a failure.
    client.refresh().await.unwrap();
    wait(client, "#order-status[data-status=\"confirmed\"]").await;
    assert!(
        client.find(Locator::Css("#fail-code")).await.is_err(),
        "a reload of the success page shows a failure"
    );
}

async fn declined(client: &Client, demo: &Demo, pg: Pg) {
    for &(button, code, reason, shot) in pg.failures {
        let order_id = checkout(client, demo, pg, false).await;
        click(client, button).await;
        let shown = wait(client, "#fail-code").await.text().await.unwrap();
        assert_eq!(shown, code, "{button}");
        let message = wait(client, "#fail-message").await.text().await.unwrap();
        assert!(!message.is_empty() && message.contains(reason), "{message}");
        assert_eq!(
            wait(client, "#order-id").await.text().await.unwrap(),
            order_id
        );
        wait(client, "#order-status[data-status=\"failed\"]").await;
        screenshot(client, &format!("{}-{shot}", pg.id)).await;
    }
}

async fn virtual_account(client: &Client, demo: &Demo, pg: Pg) {
    checkout(client, demo, pg, true).await;
    click(client, "#pay-virtual-account").await;
    wait(client, "#order-status[data-status=\"awaiting_deposit\"]").await;
    let account = wait(client, "#account").await.text().await.unwrap();
    assert_ne!(account, "-", "the issued account is shown");
    let key = wait(client, "#payment-key").await.text().await.unwrap();
    wait(client, "#webhooks li[data-action=\"AwaitDeposit\"]").await;
    // The customer deposits: the fake's control API, called here for Toss and PortOne and
    // through the order page's sandbox button (which calls the same API) for NICEPAY.
    match pg.id {
        "tosspayments" | "portone" => {
            let fake = if pg.id == "portone" {
                &demo.portone
            } else {
                &demo.toss
            };
            let res = reqwest::Client::new()
                .post(format!("{fake}/__fake/payments/{key}/deposit"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
        }
        _ => {
            click(client, "#sandbox-deposit").await;
            let nicepay = demo.nicepay.clone();
            let key = key.clone();
            until("the NICEPAY fake received the deposit", move || {
                let url = format!("{nicepay}/__fake/payments/{key}");
                async move {
                    match reqwest::get(&url).await {
                        Ok(r) => r
                            .json::<serde_json::Value>()
                            .await
                            .is_ok_and(|p| p["status"] == "paid"),
                        Err(_) => false,
                    }
                }
            })
            .await;
        }
    }
    wait(client, "#order-status[data-status=\"confirmed\"]").await;
    wait(
        client,
        "#webhooks li[data-action=\"ConfirmVirtualAccountOrder\"]",
    )
    .await;
    screenshot(client, &format!("{}-virtual-account", pg.id)).await;
}

async fn run(pg: Pg) {
    let Some(driver_path) = chromedriver() else {
        eprintln!(
            "\n\n!!!!!!!! SKIPPED: the browser tests need chromedriver (Debian: apt-get install \
             chromium chromium-driver; scripts/test.sh installs them), or HANPAY_CHROMEDRIVER \
             !!!!!!!!\n\n"
        );
        return;
    };
    let driver = start_chromedriver(&driver_path).await;
    let demo = start_demo().await;
    let client = browser(&driver).await;
    let result = tokio::spawn({
        let client = client.clone();
        async move {
            card(&client, &demo, pg).await;
            declined(&client, &demo, pg).await;
            virtual_account(&client, &demo, pg).await;
        }
    })
    .await;
    let _ = client.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toss_checkout_in_a_real_browser() {
    run(TOSS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portone_checkout_in_a_real_browser() {
    run(PORTONE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nicepay_checkout_in_a_real_browser() {
    run(NICEPAY).await;
}
