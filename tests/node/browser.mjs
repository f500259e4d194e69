// Starting headless Chromium (Debian's, driven by npm playwright-core) for the browser tests.
import { chromium } from 'playwright-core';

/** Launches the Chromium at `executablePath`, headless, on a machine with loopback only. */
export function launchChromium(executablePath) {
  return chromium.launch({
    executablePath,
    args: [
      // CI runs as root, where Chromium's sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      // This machine reaches no network but loopback: keep Chromium from trying.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
