// Records nobody can fake, as a phone makes them: signed in the browser (WebCrypto) before they leave it,
// checked by the server, refused when someone alters a carried copy; and what leaves the phone when its
// person logs out.
import { test, expect, LEAD, MEMBER, PASSWORD, apiPublishRotating, rotatingCode } from './fixtures';

test('records made offline are signed on the phone; a copy altered on the way is refused', async ({ server, newApp }) => {
  const published = await apiPublishRotating(server, '主题党日：廉洁从业', { startsInMin: -5 });
  const { app: member, context } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: /廉洁从业/ }).click();
  await expect(member.syncState()).toContainText('已全部上传');
  await member.waitForOfflineReady();

  await server.stop();
  await context.setOffline(true);
  await member.page.getByLabel('签到码').fill(rotatingCode(published.secret));
  await member.page.getByRole('button', { name: '签到' }).click();
  await expect(member.myStatus()).toHaveText('待上传');

  // The exported copy carries the phone's signature over every field.
  await member.page.goto('/me/sync');
  await member.page.getByRole('button', { name: '复制记录内容' }).click();
  const text = await member.page.getByTestId('export-text').inputValue();
  const file = JSON.parse(text);
  expect(file.records).toHaveLength(1);
  expect(file.records[0].sig).toMatch(/^[0-9a-f]{128}$/);

  // Back online, the signed record arrives: the server checked the browser's signature.
  await server.start();
  await context.setOffline(false);
  await member.page.goto('/');
  await member.page.getByRole('link', { name: /廉洁从业/ }).click();
  await expect(member.myStatus()).toHaveText('已送达', { timeout: 30_000 });

  // The lead is handed the copy with the code changed (and a new id, so it is not a retry): refused.
  const altered = JSON.parse(text);
  altered.records[0].id = crypto.randomUUID();
  altered.records[0].payload.code = '000000';
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.goto('/me/sync');
  await lead.page.getByLabel('或粘贴收到的记录内容').fill(JSON.stringify(altered));
  await lead.page.getByRole('button', { name: '导入粘贴的内容' }).click();
  await expect(lead.page.getByText(/新送达 0 条，此前已送达 0 条，未通过 1 条/)).toBeVisible();
  // The genuine copy: delivered already, once.
  await lead.page.getByLabel('或粘贴收到的记录内容').fill(text);
  await lead.page.getByRole('button', { name: '导入粘贴的内容' }).click();
  await expect(lead.page.getByText(/新送达 0 条，此前已送达 1 条，未通过 0 条/)).toBeVisible();
});

test('logging out leaves only unsent records on the phone; 退出并清除本机数据 leaves nothing', async ({ server, newApp }) => {
  await apiPublishRotating(server, '党课：新时代党的建设', { startsInMin: 60 });
  const { app: member, context } = await newApp();
  await member.login(MEMBER);
  await expect(member.page.getByRole('link', { name: /新时代党的建设/ })).toBeVisible();
  await expect(member.syncState()).toContainText('已全部上传');
  const keys = () => member.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('hongyan.v1.')));
  expect((await keys()).some((k) => k.endsWith('.cache'))).toBe(true);

  // A record that cannot go yet: leave asked offline.
  await member.waitForOfflineReady();
  await server.stop();
  await context.setOffline(true);
  await member.page.getByRole('link', { name: /新时代党的建设/ }).click();
  await member.page.getByLabel('请假事由').fill('在外地工地值班');
  await member.page.getByRole('button', { name: '提交请假' }).click();
  await expect(member.syncState()).toContainText('待上传 1 条');

  await member.page.getByRole('link', { name: '我的' }).click();
  await member.page.getByRole('button', { name: '退出登录' }).click();
  const left = await keys();
  expect(left.some((k) => k.endsWith('.cache'))).toBe(false);
  expect(left.some((k) => k.includes('.rec.'))).toBe(true);

  // Back online, the person logs in again: the unsent record is still there and goes.
  await server.start();
  await context.setOffline(false);
  await member.login(MEMBER);
  await expect(member.syncState()).toContainText('已全部上传', { timeout: 30_000 });

  // On a phone about to change hands: everything of this person goes, asked first.
  member.page.once('dialog', (d) => d.accept());
  await member.page.getByRole('link', { name: '我的' }).click();
  await member.page.getByRole('button', { name: '退出并清除本机数据' }).click();
  await expect(member.page.getByLabel('手机号')).toBeVisible();
  const id = (await keys()).length;
  expect(id).toBe(0);
});

test('a member changes their own password; the old one stops working', async ({ server, newApp }) => {
  const { app: member } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: '我的' }).click();
  await member.page.getByRole('link', { name: '修改密码' }).click();
  await member.page.getByLabel('原密码').fill(PASSWORD);
  await member.page.getByLabel('新密码', { exact: true }).fill('12345678');
  await member.page.getByLabel('再次输入新密码').fill('12345678');
  await member.page.getByRole('button', { name: '修改密码' }).click();
  await expect(member.page.getByRole('alert')).toContainText('密码太容易被猜到');
  await member.page.getByLabel('新密码', { exact: true }).fill('gangjin-banzu-2026');
  await member.page.getByLabel('再次输入新密码').fill('gangjin-banzu-2026');
  await member.page.getByRole('button', { name: '修改密码' }).click();
  await expect(member.page.getByRole('status').filter({ hasText: '密码已修改' })).toBeVisible();
  const old = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: MEMBER, password: PASSWORD }),
  });
  expect(old.status).toBe(401);
});
