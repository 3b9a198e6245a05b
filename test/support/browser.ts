/**
 * Headless Chromium from the Debian package (`apt-get install -y chromium`; .ci/run installs it),
 * driven by playwright-core: the npm Playwright browser download is not used. Opens a page from
 * file:// and records console errors, page errors and every request that is not file://.
 * Tests that need it skip, naming the missing executable, when it is absent.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
  /** URLs requested that are not file:// (data: URLs raise no request). */
  network: string[];
  close(): Promise<void>;
}

/** A fresh headless Chromium (own profile folder, nothing that phones home) with a page on `file`. */
export async function openFile(file: string, viewport = { width: 1400, height: 900 }): Promise<OpenedPage> {
  const profile = mkdtempSync(join(tmpdir(), 'iapas-chromium-'));
  // A persistent context is what takes a profile folder; a fresh one per page.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  const network: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  context.on('request', (r) => {
    if (!r.url().startsWith('file://')) network.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return {
    context,
    page,
    consoleErrors,
    network,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
