// The study ledger end to end (issue 5): a seconded cadre logs two records with no signal, they sync, the
// district admin recognises one and returns the other with a comment, and the cadre's progress changes.
import { test, expect, CADRE, LEAD, MEMBER, MEMBER2, apiLogin, apiPush } from './fixtures';

const ADMIN = '13800000009';
// A 1×1 PNG, standing in for a photo of a certificate.
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

test('a cadre logs two records offline, the admin recognises one and returns one, the progress changes', async ({ server, newApp }) => {
  const { app: cadre, context } = await newApp();
  await cadre.login(CADRE);
  await cadre.page.getByRole('link', { name: '学习记录' }).click();
  const progress = cadre.page.getByTestId('study-progress');
  // The demo's recognised week at a Shanghai party school (37.5) and 20 学时 of 网络培训.
  await expect(progress.getByTestId('study-sentence').first()).toHaveText('应完成90学时，已完成37.5学时，尚需52.5学时');
  await expect(progress.getByTestId('study-sentence').nth(1)).toHaveText('应完成50学时，已完成20学时，尚需30学时');
  await cadre.waitForOfflineReady();

  // In a training centre with no signal.
  await server.stop();
  await context.setOffline(true);
  await cadre.page.reload();
  await cadre.page.getByRole('link', { name: '登记学习' }).click();
  await cadre.page.getByLabel('类别').selectOption({ label: '集中培训（脱产）' });
  await cadre.page.getByLabel('学习内容（名称）').fill('长三角党建专题培训班');
  await cadre.page.getByLabel('主办单位').fill('中共上海市委党校');
  await cadre.page.getByLabel('按天数').check();
  await cadre.page.getByLabel('天数', { exact: true }).fill('1');
  await expect(cadre.page.getByText('按每天7.5学时折算为7.5学时')).toBeVisible();
  await cadre.page.getByLabel('项目').selectOption({ label: '沪挂' });
  await cadre.page.getByLabel('证明材料照片（选填，如结业证书）').setInputFiles({ name: 'certificate.png', mimeType: 'image/png', buffer: PHOTO });
  await expect(cadre.page.getByRole('img', { name: '证明材料预览' })).toBeVisible();
  await expect(cadre.page.getByText(/已选照片（约\d+KB），联网后随记录上传/)).toBeVisible();
  await cadre.page.getByRole('button', { name: '提交认定' }).click();
  await expect(cadre.page.getByTestId('study-list')).toContainText('待认定（待上传）');

  await cadre.page.getByRole('link', { name: '登记学习' }).click();
  await cadre.page.getByLabel('类别').selectOption({ label: '网络培训' });
  await cadre.page.getByLabel('学习内容（名称）').fill('干部网络学院：数字经济');
  await cadre.page.getByLabel('学时', { exact: true }).fill('10');
  await cadre.page.getByRole('button', { name: '提交认定' }).click();
  await expect(cadre.syncState()).toContainText('待上传 2 条');
  // Nothing counts before it is recognised.
  await expect(progress.getByTestId('study-sentence').first()).toHaveText('应完成90学时，已完成37.5学时，尚需52.5学时');

  // The records survive a reload and go out when the signal returns.
  await cadre.page.reload();
  await expect(cadre.page.getByTestId('study-list')).toContainText('长三角党建专题培训班');
  await server.start();
  await context.setOffline(false);
  await expect(cadre.syncState()).toContainText('已全部上传', { timeout: 30_000 });

  // The organisation department reviews: one recognised, one returned with what is missing.
  const { app: admin } = await newApp();
  await admin.login(ADMIN);
  await admin.page.goto('/review');
  const rows = admin.page.getByTestId('review-row');
  await expect(rows).toHaveCount(2);
  const training = rows.filter({ hasText: '长三角党建专题培训班' });
  await expect(training).toContainText('赵磊');
  await expect(training).toContainText('申报7.5学时（1天）');
  // The photo went up after its record; the reviewer opens it.
  await training.getByRole('button', { name: '查看证明材料' }).click();
  await expect(training.getByRole('img', { name: '证明材料' })).toBeVisible();
  await training.getByRole('button', { name: '认定' }).click();
  const online = rows.filter({ hasText: '干部网络学院' });
  await online.getByRole('button', { name: '退回' }).click();
  await expect(online.getByRole('alert')).toContainText('请填写意见');
  await online.getByLabel('意见').fill('请补充网络学院的学时证明截图');
  await online.getByRole('button', { name: '退回' }).click();
  await expect(admin.syncState()).toContainText('已全部上传');
  await admin.syncNow();
  await expect(admin.page.getByText('没有待认定的学习记录。')).toBeVisible();

  // The cadre's progress changes; the returned record says why and can be corrected.
  await cadre.syncNow();
  await expect(progress.getByTestId('study-sentence').first()).toHaveText('应完成90学时，已完成45学时，尚需45学时');
  await expect(progress.getByTestId('study-sentence').nth(1)).toHaveText('应完成50学时，已完成20学时，尚需30学时');
  const list = cadre.page.getByTestId('study-list');
  await expect(list).toContainText('已认定，认定7.5学时');
  await expect(list).toContainText('退回意见：请补充网络学院的学时证明截图');

  // The admin's overview shows the cadre behind by 45, as a table — and exports it.
  await admin.page.getByRole('link', { name: '统计' }).click();
  await admin.page.getByRole('link', { name: /学时完成情况/ }).click();
  const table = admin.page.getByTestId('overview-table');
  await expect(table.getByRole('row').filter({ hasText: '赵磊' })).toContainText('45/90，尚需45');
  await expect(admin.page.getByTestId('overview-summary')).toContainText('乡科级及以下干部：1人，已达到0人，未达到1人');
  const download = admin.page.waitForEvent('download');
  await admin.page.getByRole('button', { name: '导出 Excel' }).click();
  expect((await download).suggestedFilename()).toMatch(/^学时完成情况-\d{4}年\.xlsx$/);

  // Both decisions are in the audit log the district admin reads.
  await admin.page.getByRole('link', { name: '我的' }).click();
  await admin.page.getByRole('link', { name: /操作日志/ }).click();
  const log = admin.page.getByTestId('audit-log');
  await expect(log.getByRole('row').filter({ hasText: '认定学时' })).toContainText('认定7.5学时（申报7.5）');
  await expect(log.getByRole('row').filter({ hasText: '退回学习记录' })).toContainText('请补充网络学院的学时证明截图');
  await expect(log.getByRole('row').filter({ hasText: '退回学习记录' })).toContainText('周敏');
});

/** Today in Shanghai, as `<input type="date">` writes it. */
function today(): string {
  return new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
}

test('the lead recognises a training two members attended at once, and a confirmed 书记讲坛 counts by itself', async ({ server, newApp }) => {
  for (const phone of [MEMBER, MEMBER2]) {
    const receipt = await apiPush(server, phone, 'save_study', {
      study_id: crypto.randomUUID(), kind: 'lecture', title: '党纪学习教育专题讲座', organiser: '区委党校',
      starts_on: today(), ends_on: today(), hours: 8, submit: true,
    });
    expect(receipt.status).toBe('applied');
  }
  // A 书记讲坛 carrying 1.5 学时, and the lead's confirmation of 李明's attendance.
  const forum = crypto.randomUUID();
  const now = Date.now();
  const published = await apiPush(server, LEAD, 'create_activity', {
    activity_id: forum, kind: 'secretary_forum', title: '书记讲坛：新质生产力', place: '项目部会议室',
    starts_at: now - 60_000, ends_at: now + 3_600_000, code: '135790', study_hours: 3,
  });
  expect(published.status).toBe('applied');
  const token = await apiLogin(server, MEMBER);
  const me = await (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  expect((await apiPush(server, LEAD, 'confirm', { activity_id: forum, member_id: me.id })).status).toBe('applied');

  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByRole('link', { name: '学习记录' }).click();
  await expect(lead.page.getByText('有2条学习记录待认定')).toBeVisible();
  await lead.page.getByRole('link', { name: '待认定记录' }).click();
  await expect(lead.page.getByTestId('review-row')).toHaveCount(2);
  await lead.page.getByLabel('选择 李明：党纪学习教育专题讲座').check();
  await lead.page.getByLabel('选择 张伟：党纪学习教育专题讲座').check();
  await lead.page.getByRole('button', { name: '认定所选（2条，按申报学时）' }).click();
  await expect(lead.page.getByText('已认定2条（按申报学时）')).toBeVisible();
  await expect(lead.syncState()).toContainText('已全部上传');

  const { app: member } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: '学习记录' }).click();
  await expect(member.page.getByTestId('study-sentence')).toHaveText('应完成32学时，已完成5.5学时，尚需26.5学时');
  const list = member.page.getByTestId('study-list');
  await expect(list.getByRole('listitem').filter({ hasText: '书记讲坛：新质生产力' })).toContainText('已认定，认定1.5学时');
  await expect(list.getByRole('listitem').filter({ hasText: '党纪学习教育专题讲座' })).toContainText('已认定，认定4学时');
});
