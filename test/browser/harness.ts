/**
 * Shared set-up of the browser tests: build the bundles (esbuild), serve
 * them (examples/browser/serve.ts) and drive Debian's chromium through
 * playwright-core.
 *
 * Outside CI the tests skip, saying why, when /usr/bin/chromium is absent;
 * in CI (process.env.CI) they always run, so a missing browser fails them.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBrowserBundles } from '../../examples/browser/build.js';
import { startDemoServer, type DemoServer } from '../../examples/browser/serve.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless flags for Debian's chromium in a container (DEVELOPERS.md). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Why the browser tests cannot run here, or null when they can (always null in CI). */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM_PATH) || process.env['CI']) return null;
  return `${CHROMIUM_PATH} not found: browser tests skipped (install it with: apt-get install -y chromium; in CI they always run)`;
}

export interface BrowserSession {
  readonly browser: Browser;
  readonly server: DemoServer;
  /** A new page; its console errors and uncaught exceptions are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Builds the bundles, starts the server and launches chromium. */
export async function openBrowserSession(): Promise<BrowserSession> {
  await buildBrowserBundles();
  const server = await startDemoServer();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    browser,
    server,
    async newPage() {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
      });
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
