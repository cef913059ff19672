// The foundation's promise end to end: a lead publishes, a member signs in with no network and no server,
// the record survives a reload, syncs when the network returns, and the lead's confirmation comes back.
import { test, expect, LEAD, MEMBER, shanghaiInput } from './fixtures';

test('a member signs in offline, the record survives a reload, syncs, and the lead confirms it', async ({ server, newApp }) => {
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByLabel('类型').selectOption({ label: '主题党日' });
  await lead.page.getByLabel('主题').fill('工地安全生产专题学习');
  await lead.page.getByLabel('地点').fill('浦东项目部二楼会议室');
  await lead.page.getByLabel('开始时间').fill(shanghaiInput(-5));
  await lead.page.getByLabel('结束时间').fill(shanghaiInput(115));
  await lead.page.getByRole('button', { name: '发布' }).click();
  const code = (await lead.page.getByTestId('sign-in-code').textContent())!.trim();
  expect(code).toMatch(/^\d{6}$/);
  await expect(lead.syncState()).toContainText('已全部上传');
  await expect(lead.page.getByTestId('tally')).toContainText('应到6人，实到0人');

  const { app: member, context } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: /工地安全生产专题学习/ }).click();
  await expect(member.myStatus()).toHaveText('待签到');
  await member.waitForOfflineReady();

  // No signal on site: the server is unreachable and the browser is offline.
  await server.stop();
  await context.setOffline(true);
  await member.page.reload();
  await expect(member.page.getByRole('heading', { name: '工地安全生产专题学习' })).toBeVisible();
  await member.page.getByLabel('签到码').fill(code);
  await member.page.getByRole('button', { name: '签到' }).click();
  await expect(member.syncState()).toContainText('待上传 1 条');
  await expect(member.myStatus()).toHaveText('待上传');

  await member.page.reload();
  await expect(member.syncState()).toContainText('待上传 1 条');
  await expect(member.myStatus()).toHaveText('待上传');

  // Signal returns: the outbox pushes by itself.
  await server.start();
  await context.setOffline(false);
  await expect(member.myStatus()).toHaveText('已送达', { timeout: 30_000 });
  await expect(member.syncState()).toContainText('已全部上传');
  await expect(member.page.getByText(/服务器已收到（回执 \d+/)).toBeVisible();

  // The lead sees the sign-in on the roster and confirms it.
  await lead.syncNow();
  const row = lead.page.getByTestId('roster-row').filter({ hasText: '李明' });
  await expect(row).toContainText('已签到（待确认）');
  await expect(lead.page.getByTestId('tally')).toContainText('应到6人，实到1人');
  await lead.page.getByRole('button', { name: '确认 李明', exact: true }).click();
  await expect(row).toContainText('已签到（已确认）');
  await expect(lead.syncState()).toContainText('已全部上传');
  await expect(row).not.toContainText('待上传');

  // The member's next pull shows the confirmation.
  await member.syncNow();
  await expect(member.myStatus()).toHaveText('已确认');
});

test('a wrong code is kept and flagged for the lead; a later right code clears the flag', async ({ newApp }) => {
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByLabel('主题').fill('党小组会');
  await lead.page.getByLabel('开始时间').fill(shanghaiInput(-1));
  await lead.page.getByRole('button', { name: '发布' }).click();
  await expect(lead.page.getByTestId('sign-in-code')).toHaveText(/^\d{6}$/);
  await expect(lead.syncState()).toContainText('已全部上传');

  const { app: member } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: /党小组会/ }).click();
  const code = (await lead.page.getByTestId('sign-in-code').textContent())!.trim();
  const wrong = code === '000000' ? '111111' : '000000';
  await member.page.getByLabel('签到码').fill(wrong);
  await member.page.getByRole('button', { name: '签到' }).click();
  // Not thrown away: delivered, 待确认, with a flag the lead sees.
  await expect(member.myStatus()).toHaveText(/^已送达/);
  await lead.syncNow();
  const row = lead.page.getByTestId('roster-row').filter({ hasText: '李明' });
  await expect(row).toContainText('签到未通过校验');
  await expect(lead.page.getByRole('button', { name: /一键确认全部/ })).toHaveCount(0);

  // The member is told, and types the code on the lead's screen again: the flag goes.
  await member.syncNow();
  await expect(member.page.getByTestId('code-flag')).toBeVisible();
  await expect(member.myStatus()).toHaveText('已送达（签到码不符，待书记核实）');
  const again = (await lead.page.getByTestId('sign-in-code').textContent())!.trim();
  await member.page.getByLabel('签到码').fill(again);
  await member.page.getByRole('button', { name: '签到' }).click();
  await expect(member.syncState()).toContainText('已全部上传');
  await lead.syncNow();
  await expect(row).not.toContainText('签到未通过校验');
  await lead.page.getByRole('button', { name: '一键确认全部（1人）' }).click();
  await expect(row).toContainText('已签到（已确认）');
});

test('the app says when it would open with no signal, and then it does', async ({ server, newApp }) => {
  const { app, context } = await newApp();
  await app.page.goto('/');
  // At the login form already: a newcomer installs at the site office, before walking into a basement.
  await expect(app.page.getByTestId('offline-ready')).toHaveText(/^(正在下载离线使用所需的文件|已可离线使用)/);
  await expect(app.page.getByTestId('offline-ready')).toHaveText(/^已可离线使用/);
  await app.login(MEMBER);
  await expect(app.page.getByTestId('offline-ready')).toHaveText(/^已可离线使用/);

  await server.stop();
  await context.setOffline(true);
  await app.page.reload();
  await expect(app.page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  await app.page.getByRole('link', { name: '学习记录' }).click();
  await expect(app.page.getByRole('heading', { name: '学习记录' })).toBeVisible();
  await app.page.getByRole('link', { name: '我的' }).click();
  await expect(app.page.getByRole('heading', { name: '我的' })).toBeVisible();
  await server.start();
});
