// The app as a whole: login errors, installability, headers, and no page errors in the release build.
import { chromium } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, App, MEMBER, CADRE, PASSWORD, apiPublishRotating, rotatingCode } from './fixtures';

test('a wrong password says so and logs nobody in', async ({ newApp }) => {
  const { app } = await newApp();
  await app.page.goto('/');
  await app.page.getByLabel('手机号').fill(MEMBER);
  await app.page.getByLabel('密码').fill('wrong-password');
  await app.page.getByRole('button', { name: '登录' }).click();
  await expect(app.page.getByRole('alert')).toHaveText('手机号或密码不正确');
  await expect(app.page.getByRole('heading', { name: '组织生活' })).toHaveCount(0);
});

test('the shell paints before the wasm and the app replaces it', async ({ newApp, server }) => {
  const { app } = await newApp();
  const html = await (await fetch(server.url + '/')).text();
  expect(html).toContain('aria-busy="true"');
  await app.page.goto('/');
  await expect(app.page.getByLabel('手机号')).toBeVisible();
  await expect(app.page.locator('[aria-busy="true"]')).toHaveCount(0);
});

test('Chromium finds the app installable', async ({ server }, testInfo) => {
  // Installability is never reported for incognito contexts, so this one uses a real profile.
  const profile = mkdtempSync(join(tmpdir(), 'hongyan-profile-'));
  const { executablePath, args } = testInfo.project.use.launchOptions ?? {};
  const context = await chromium.launchPersistentContext(profile, { executablePath, args, baseURL: server.url });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto('/');
    await new App(page).waitForOfflineReady();
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    expect(installabilityErrors).toEqual([]);
    const manifest = await (await page.request.get('/manifest.webmanifest')).json();
    expect(manifest.short_name).toBe('红雁');
    expect(manifest.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`)).toEqual([
      '192x192 any',
      '512x512 any',
      '512x512 maskable',
    ]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('every page is served with a CSP that allows the wasm and nothing inline', async ({ newApp }) => {
  const { app } = await newApp();
  const response = await app.page.goto('/');
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(csp).not.toContain('unsafe-inline');
  // The app actually runs under it.
  await expect(app.page.getByRole('button', { name: '登录' })).toBeVisible();
});

test('a member of another branch does not see this branch and 我的 masks the phone number', async ({ newApp }) => {
  const { app } = await newApp();
  await app.login(CADRE);
  await expect(app.page.getByText('暂无活动')).toBeVisible();
  await app.page.getByRole('link', { name: '我的' }).click();
  await expect(app.page.getByText('赵磊同志')).toBeVisible();
  await expect(app.page.getByText('138****0003')).toBeVisible();
  await app.page.getByRole('button', { name: '退出登录' }).click();
  await expect(app.page.getByLabel('手机号')).toBeVisible();
});

test('pages change in place: tabs, back and forward, a sign-in link left out of the history', async ({ newApp, server }) => {
  const { app } = await newApp();
  await app.login(MEMBER);
  const page = app.page;
  // A mark on the window survives only if no page load happens in between.
  await page.evaluate(() => ((window as any).sameLoad = true));
  const nav = page.getByRole('navigation', { name: '主导航' });
  await expect(nav.getByRole('link', { name: '首页' })).toHaveAttribute('aria-current', 'page');

  await nav.getByRole('link', { name: '我的' }).click();
  await expect(page).toHaveURL(/\/me$/);
  await expect(nav.getByRole('link', { name: '我的' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: '首页' })).not.toHaveAttribute('aria-current', 'page');
  await page.getByRole('link', { name: /同步状态/ }).click();
  await expect(page).toHaveURL(/\/me\/sync$/);
  await expect(nav.getByRole('link', { name: '我的' }), 'a tab stays current on its own pages').toHaveAttribute('aria-current', 'page');

  await page.goBack();
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByRole('button', { name: '退出登录' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  await page.goForward();
  await expect(page.getByRole('button', { name: '退出登录' })).toBeVisible();
  expect(await page.evaluate(() => (window as any).sameLoad)).toBe(true);

  // A QR's link signs in, then shows the activity in its place: going back leaves it, not signing in again.
  const published = await apiPublishRotating(server, '移动支部学习会', { startsInMin: -1 });
  await nav.getByRole('link', { name: '首页' }).click();
  await app.syncNow();
  await expect(page.getByRole('link', { name: /移动支部学习会/ })).toBeVisible();
  await page.goto(`/s/${published.id}?c=${rotatingCode(published.secret)}`);
  await expect(page).toHaveURL(new RegExp(`/activity/${published.id}$`));
  await expect(app.myStatus()).toHaveText(/待上传|已送达/);
  await page.goBack();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: '组织生活' })).toBeVisible();

  await page.goto('/no/such/page');
  await expect(page.getByText('页面不存在。')).toBeVisible();
  await page.getByRole('link', { name: '返回首页' }).click();
  await expect(page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  expect(app.errors).toEqual([]);
});

test('a page whose code cannot be fetched says the app stopped and offers a fresh start', async ({ newApp }) => {
  // No service worker: every file comes over the network, and 我的's code does not arrive.
  const { app } = await newApp({ serviceWorkers: 'block' });
  await app.login(MEMBER);
  await app.page.route(/split_me_page_[^/]*\.wasm$/, (route) => route.abort());
  await app.page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '我的' }).click();
  await expect(app.page.getByRole('alert').filter({ hasText: '应用出错已停止' })).toBeVisible();
  // The page errors are this test's point: the wasm stopped (and is replaced, not left frozen).
  const stopped = app.errors.splice(0).map((e) => e.message);
  expect(stopped.some((m) => /unreachable/.test(m)), stopped.join('\n')).toBe(true);
  await app.page.unroute(/split_me_page_[^/]*\.wasm$/);
  await app.page.getByRole('link', { name: '返回首页' }).click();
  await expect(app.page.getByRole('heading', { name: '组织生活' })).toBeVisible();
});

test('a 签到 link opened while signed out signs in once the member has logged in; a broken one records nothing', async ({ newApp, server }) => {
  const { app } = await newApp();
  const published = await apiPublishRotating(server, '扫码后登录', { startsInMin: -1 });
  await app.page.goto(`/s/${published.id}?c=${rotatingCode(published.secret)}`);
  await app.page.getByLabel('手机号').fill(MEMBER);
  await app.page.getByLabel('密码').fill(PASSWORD);
  await app.page.getByRole('button', { name: '登录' }).click();
  await expect(app.page).toHaveURL(new RegExp(`/activity/${published.id}$`));
  await expect(app.myStatus()).toHaveText(/待上传|已送达/);
  await expect(app.syncState()).toContainText('已全部上传');

  // A link no QR of the app makes signs nobody in.
  await app.page.goto('/s/not-an-activity?c=1');
  await expect(app.page.getByRole('alert')).toHaveText('这个签到链接不完整或已损坏，请重新扫码。');
  await expect(app.page).toHaveURL(/\/s\//);
  await expect(app.syncState()).toContainText('已全部上传');
});
