import * as fs from 'node:fs';
import type { Browser } from 'puppeteer-core';

/** Where Debian's chromium (apt-get install chromium) puts its binary; CHROMIUM_PATH overrides. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  return null;
}

/**
 * Headless Chromium driven by puppeteer-core (no browser download: the system's chromium).
 * `--no-sandbox`: CI runs as root, where Chromium's sandbox refuses to start.
 */
export async function launchChromium(opts: { protocolTimeoutMs?: number; extraArgs?: string[] } = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === null) throw new Error('no Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH');
  const puppeteer = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath,
    headless: true,
    ...(opts.protocolTimeoutMs !== undefined ? { protocolTimeout: opts.protocolTimeoutMs } : {}),
    args: ['--no-sandbox', '--disable-gpu', ...(opts.extraArgs ?? []), '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}
