// Browser tests of 红雁 in Debian's Chromium. Each test starts its own release server on a fresh
// SQLite database (see tests/fixtures.ts), because offline tests must stop and restart it.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  // A flow of several phones waits, more than once, for a service worker to store every stage of the app
  // before it goes offline (waitForOfflineReady): seconds each on a busy machine.
  timeout: 180_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    serviceWorkers: 'allow',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
