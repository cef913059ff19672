// Every screen on a phone's width: each route each role opens, at 320, 360, 390 and 430 px, with the
// browser's normal text and at a large system text size (what older members set), and in 长辈模式. Nothing
// may make the page scroll sideways or stick out past the screen's edge (a wide table scrolls inside its
// own box instead), and no table cell may be squeezed to a character per line.
import { type Page } from '@playwright/test';
import { test, expect, apiLogin, apiPull, type Server, LEAD, MEMBER, CADRE } from './fixtures';

// Dozens of pages at six sizes each: longer than one flow's usual 90 s.
test.describe.configure({ timeout: 300_000 });

const ADMIN = '13800000009';
const COMMITTEE = '13800000008';
const WIDTHS = [320, 360, 390, 430];

/** What is wrong with the layout as shown: elements past the screen's edge (outside a box that scrolls
 * by itself) and table cells narrower than two characters. */
async function layoutFaults(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const faults: string[] = [];
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : ''} "${(el.textContent ?? '').trim().slice(0, 24)}"`;
    if (document.documentElement.scrollWidth > vw) faults.push(`the page is ${document.documentElement.scrollWidth} px wide on a ${vw} px screen`);
    const scrollsItself = (el: Element) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll') return true;
      }
      return false;
    };
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if ((r.right > vw + 1 || r.left < -1) && !scrollsItself(el)) faults.push(`${name(el)} spans ${Math.round(r.left)}–${Math.round(r.right)} px`);
      if ((el.tagName === 'TD' || el.tagName === 'TH') && (el.textContent ?? '').trim().length >= 3) {
        const em = parseFloat(getComputedStyle(el).fontSize);
        const pad = parseFloat(getComputedStyle(el).paddingLeft) + parseFloat(getComputedStyle(el).paddingRight);
        if (r.width - pad < 2 * em) faults.push(`${name(el)} is ${Math.round(r.width - pad)} px wide: a character per line`);
      }
    }
    return faults.slice(0, 8);
  });
}

/** Opens each route as shown at each width and size, and collects what does not fit. */
async function checkRoutes(page: Page, routes: string[]): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  const faults: string[] = [];
  for (const [text, standard] of [['normal text', 16], ['large text', 24]] as const) {
    await cdp.send('Page.setFontSizes', { fontSizes: { standard, fixed: standard - 3 } });
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      for (const route of routes) {
        await page.goto(route);
        await expect(page.locator('main h1, main h2, .code-screen').first()).toBeVisible();
        await page.waitForLoadState('networkidle');
        for (const f of await layoutFaults(page)) faults.push(`${route} at ${width} px, ${text}: ${f}`);
      }
    }
  }
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16, fixed: 13 } });
  return faults;
}

async function demoIds(server: Server): Promise<{ activity: string; member: number }> {
  const pulled = await apiPull(server, LEAD);
  const activity = pulled.activities[0].id;
  const token = await apiLogin(server, LEAD);
  const me = await (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  return { activity, member: me.id ?? me.user?.id };
}

test('a member\'s and a cadre\'s screens fit a phone at every width and text size', async ({ server, newApp }) => {
  const { activity } = await demoIds(server);
  const { app } = await newApp();
  await app.login(MEMBER);
  const memberRoutes = ['/', `/activity/${activity}`, '/study', '/study/new', '/me', '/me/sync', '/me/info', '/me/password', '/feedback'];
  expect(await checkRoutes(app.page, memberRoutes)).toEqual([]);

  const { app: cadre } = await newApp();
  await cadre.login(CADRE);
  expect(await checkRoutes(cadre.page, ['/study', '/study/new'])).toEqual([]);
});

test('a lead\'s screens, the code among them, fit a phone at every width and text size', async ({ server, newApp }) => {
  const { activity, member } = await demoIds(server);
  const { app } = await newApp();
  await app.login(LEAD);
  const routes = ['/', `/activity/${activity}`, `/activity/${activity}/code`, `/activity/${activity}/record`, `/activity/${activity}/edit`,
    '/branch', '/members', `/members/${member}`, '/review', '/study/overview', '/roster'];
  expect(await checkRoutes(app.page, routes)).toEqual([]);
});

test('the admins\' screens fit a phone at every width and text size', async ({ newApp }) => {
  const { app } = await newApp();
  await app.login(ADMIN);
  const routes = ['/', '/district', '/orgs', '/audit', '/settings', '/members', '/study/overview', '/study/rules', '/review', '/me/two-factor'];
  expect(await checkRoutes(app.page, routes)).toEqual([]);
  const { app: committee } = await newApp();
  await committee.login(COMMITTEE);
  expect(await checkRoutes(committee.page, ['/district', '/study/overview'])).toEqual([]);
});

test('the signed-out screens fit a phone at every width and text size', async ({ newApp }) => {
  const { app } = await newApp();
  expect(await checkRoutes(app.page, ['/login', '/join'])).toEqual([]);
});

test('长辈模式 in 我的 makes the text and the buttons larger on this phone, and stays on', async ({ newApp }) => {
  const { app } = await newApp();
  await app.login(MEMBER);
  const size = () => app.page.evaluate(() => ({
    text: parseFloat(getComputedStyle(document.querySelector('main h1')!).fontSize),
    button: document.querySelector('main button')!.getBoundingClientRect().height,
  }));
  await app.page.getByRole('link', { name: '我的' }).click();
  await expect(app.page.getByRole('button', { name: '开启长辈模式' })).toBeVisible();
  const before = await size();
  await app.page.getByRole('button', { name: '开启长辈模式' }).click();
  const after = await size();
  expect(after.text).toBeGreaterThanOrEqual(before.text * 1.2);
  expect(after.button).toBeGreaterThanOrEqual(before.button * 1.2);
  expect(await layoutFaults(app.page)).toEqual([]);

  // Still on after the app is opened again, and for whoever logs in next on this phone.
  await app.page.reload();
  await expect(app.page.getByRole('button', { name: '关闭长辈模式' })).toBeVisible();
  expect((await size()).text).toBeCloseTo(after.text, 0);
  await app.page.getByRole('button', { name: '退出登录' }).click();
  await expect(app.page.locator('html')).toHaveClass(/elder/);
  await app.login(MEMBER);
  await app.page.getByRole('link', { name: '我的' }).click();
  await app.page.getByRole('button', { name: '关闭长辈模式' }).click();
  await expect(app.page.getByRole('button', { name: '开启长辈模式' })).toBeVisible();
  expect((await size()).text).toBeCloseTo(before.text, 0);
});

test('an admin at a desk reads 统计, 完成情况 and the log across the screen', async ({ newApp }) => {
  const { app } = await newApp({ viewport: { width: 1366, height: 768 } });
  await app.login(ADMIN);
  for (const route of ['/district', '/study/overview', '/audit']) {
    await app.page.goto(route);
    await expect(app.page.locator('.table-scroll table').first()).toBeVisible();
    const width = await app.page.locator('main').evaluate((m) => m.getBoundingClientRect().width);
    expect(width, route).toBeGreaterThan(1000);
    expect(await layoutFaults(app.page)).toEqual([]);
  }
  // A form stays a readable column.
  await app.page.goto('/me');
  expect(await app.page.locator('main').evaluate((m) => m.getBoundingClientRect().width)).toBeLessThan(700);
});
