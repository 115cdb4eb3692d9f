#!/usr/bin/env bash
# The block explorer in a real browser: installs Chromium and chromedriver from Debian's packages
# when missing, then runs blockchat-net/tests/explorer.rs (a 3-node network on 127.32.0.x, headless
# Chromium through WebDriver). Screenshots land in target/tmp/explorer/. Bounded in time.
#
# It skips (exit 0, saying so) only where Chromium cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromedriver > /dev/null || ! command -v chromium > /dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "browser: installing chromium and chromium-driver"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
            > /tmp/blockchat-browser-apt.log 2>&1 || true
    fi
fi
if ! command -v chromedriver > /dev/null || ! command -v chromium > /dev/null; then
    echo "browser: SKIPPED: Chromium and chromedriver cannot be installed here (see /tmp/blockchat-browser-apt.log)"
    exit 0
fi
echo "browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version | head -1)"
cargo test -q -p blockchat-net --test explorer --no-run 2>&1 | grep -v '^ *Executable' || true
# The network, the browser and the test: bounded in time (the build above is not).
timeout 300 cargo test -q -p blockchat-net --test explorer -- --ignored --nocapture 2>&1 | grep -v '^$'
shots=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/tmp/explorer
ls "$shots"/*.png > /dev/null
echo "browser: PASSED; screenshots: $(cd "$shots" && ls *.png | tr '\n' ' ')in $shots"
