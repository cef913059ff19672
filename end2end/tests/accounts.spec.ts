// Organisation and accounts end to end (issue 6): the district admin imports the department's roster (a
// problem first, then the corrected file), invites a new member who joins on their phone with the link, and
// that member sends 投诉建议 with no signal, reads the reply, and exports 我的信息.
import { readFileSync } from 'node:fs';
import { test, expect, apiPull, shanghaiInput, LEAD, MEMBER } from './fixtures';

const ADMIN = '13800000009';
const SITE = '上海浦东项目部党支部';

function roster(rows: string[]): { name: string; mimeType: string; buffer: Buffer } {
  return { name: '党员名册.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\r\n'), 'utf8') };
}

test('the admin imports a roster, invites a member who joins on a phone, who sends feedback offline and exports their data', async ({ server, newApp }) => {
  const { app: admin } = await newApp();
  await admin.login(ADMIN);
  await admin.page.getByRole('link', { name: '我的' }).click();
  await admin.page.getByRole('link', { name: '导入名册' }).click();

  // A first file with a mistake: it is checked at once and nothing is written.
  const header = '序号,姓名,身份证号,手机号码,所在党支部,党员类别,标签';
  await admin.page.getByLabel('选择名册文件').setInputFiles(roster([
    header,
    `1,吴刚,320000199001011234,13900000001,${SITE},正式党员,流动党员`,
    `2,陈红,,13900000002,浦东支部,预备党员,`,
  ]));
  const report = admin.page.getByTestId('roster-report');
  await expect(report).toContainText('共2行：新增1人，更新0人，无变化0人，有问题1行');
  await expect(report).toContainText('没有名为“浦东支部”的支部');
  await expect(report).toContainText('未读取的列：序号、身份证号');
  await expect(report.getByRole('button', { name: /确认导入/ })).toHaveCount(0);

  // The corrected file passes; the admin confirms; importing it again changes nothing.
  const fixed = roster([
    header,
    `1,吴刚,320000199001011234,13900000001,${SITE},正式党员,流动党员`,
    `2,陈红,,13900000002,${SITE},预备党员,`,
  ]);
  await admin.page.getByLabel('选择名册文件').setInputFiles(fixed);
  await expect(report).toContainText('检查通过，确认后写入。');
  await report.getByRole('button', { name: '确认导入（新增2人，更新0人）' }).click();
  await expect(report).toContainText('已导入');

  // The invitation for 吴刚, straight from the import's result.
  const wuRow = report.getByRole('row').filter({ hasText: '吴刚' });
  await wuRow.getByRole('button', { name: '发邀请' }).click();
  const link = await wuRow.getByTestId('invitation-link').textContent();
  const code = await wuRow.getByTestId('invitation-code').textContent();
  expect(code).toMatch(/^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
  expect(link).toBe(`${server.url}/join?code=${code}`);

  await admin.page.getByLabel('选择名册文件').setInputFiles(fixed);
  await expect(report).toContainText('共2行：新增0人，更新0人，无变化2人，有问题0行');
  await expect(report).toContainText('无需导入');

  // 吴刚 opens the link on his phone, sees it is his, sets a password and agrees to the privacy notice.
  const { app: member, context } = await newApp();
  await member.page.goto(link!);
  await expect(member.page.getByTestId('join-preview')).toHaveText(`吴刚同志（139****0001），${SITE}`);
  await member.page.getByLabel('设置密码（至少8位）').fill('wugang-2026');
  await member.page.getByLabel('再输入一次').fill('wugang-2026');
  await member.page.getByRole('button', { name: '设置密码并登录' }).click();
  await expect(member.page.getByRole('alert')).toHaveText('请先阅读并同意《个人信息保护说明》');
  await member.page.getByText('《个人信息保护说明》', { exact: true }).click();
  await expect(member.page.getByText('不保存：身份证号')).toBeVisible();
  await member.page.getByLabel('我已阅读并同意《个人信息保护说明》').check();
  await member.page.getByRole('button', { name: '设置密码并登录' }).click();
  await expect(member.page.getByRole('heading', { name: '组织生活' })).toBeVisible();

  // The code is spent; the lead's list shows him as joined.
  const again = await fetch(`${server.url}/api/v1/join/check`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }),
  });
  expect(again.status).toBe(404);
  await admin.page.goto('/members');
  await admin.page.getByLabel('按姓名或手机号查找').fill('吴刚');
  await expect(admin.page.getByTestId('member')).toHaveCount(1);
  await expect(admin.page.getByTestId('member')).toContainText('已加入');

  // On the site with no signal: 投诉建议 is kept on the phone and goes out when the signal returns.
  await member.page.getByRole('link', { name: '我的' }).click();
  await member.page.getByRole('link', { name: '投诉建议' }).click();
  await expect(member.page.getByRole('heading', { name: '投诉建议', exact: true })).toBeVisible();
  await member.waitForOfflineReady();
  await server.stop();
  await context.setOffline(true);
  await member.page.reload();
  await member.page.getByLabel('类别').selectOption({ label: '使用求助' });
  await member.page.getByLabel('内容').fill('工地宿舍信号差，签到码能否显示更久？');
  await member.page.getByRole('button', { name: '提交' }).click();
  await expect(member.page.getByText('已保存在手机上，联网后送达区委组织部')).toBeVisible();
  const mine = member.page.getByTestId('feedback-list');
  await expect(mine).toContainText('工地宿舍信号差');
  await expect(mine.getByTestId('feedback-state')).toHaveText('待上传');
  await server.start();
  await context.setOffline(false);
  await expect(mine.getByTestId('feedback-state')).toHaveText('已送达，等待答复', { timeout: 30_000 });

  // The district admin reads it and replies.
  await admin.page.goto('/feedback');
  const received = admin.page.getByTestId('feedback-list').locator('li').filter({ hasText: '工地宿舍信号差' });
  await expect(received).toContainText(`吴刚（${SITE}）`, { timeout: 30_000 });
  await received.getByLabel('答复').fill('已请项目部把签到码调为每2分钟更新。');
  await received.getByRole('button', { name: '答复' }).click();
  await expect(received.getByTestId('feedback-reply')).toContainText('已请项目部把签到码调为每2分钟更新。');
  await expect(admin.syncState()).toContainText('已全部上传', { timeout: 30_000 });

  await member.page.reload();
  await expect(mine.getByTestId('feedback-reply')).toContainText('已请项目部', { timeout: 30_000 });
  await expect(mine.getByTestId('feedback-state')).toHaveText('已答复');

  // 我的信息: what is kept, and the file.
  await member.page.goto('/me/info');
  const data = member.page.getByTestId('my-data');
  await expect(data).toContainText('13900000001');
  await expect(data).toContainText('流动党员');
  await expect(data).toContainText('同意个人信息保护说明');
  await expect(data).toContainText('投诉建议 1 条');
  const download = member.page.waitForEvent('download');
  await member.page.getByRole('button', { name: '导出我的信息' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('我的信息-吴刚.json');
  const exported = JSON.parse(readFileSync((await file.path())!, 'utf8'));
  expect(exported.app).toBe('hongyan-my-data');
  expect(exported.profile).toMatchObject({ name: '吴刚', phone: '13900000001', org_name: SITE, tags: '流动党员' });
  expect(exported.consents).toMatchObject([{ kind: 'privacy', granted: true }]);
  expect(exported.feedback[0]).toMatchObject({ body: '工地宿舍信号差，签到码能否显示更久？', reply: '已请项目部把签到码调为每2分钟更新。' });
  expect(JSON.stringify(exported)).not.toContain('320000199001011234');

  // The audit log shows the import, the invitation and the reply.
  await admin.page.goto('/audit');
  const log = admin.page.getByTestId('audit-log');
  await expect(log).toContainText('导入名册');
  await expect(log).toContainText('发出邀请');
  await expect(log).toContainText('答复投诉建议');
});

test('a forgotten password is reset by the committee admin, not the lead, and the lead keeps a mobile member\'s registration', async ({ server, newApp }) => {
  const { app: lead } = await newApp();
  await lead.login('13800000001');
  await lead.page.getByRole('link', { name: '我的' }).click();
  await lead.page.getByRole('link', { name: '成员与邀请' }).click();
  await lead.page.getByLabel('按姓名或手机号查找').fill(MEMBER);
  const li = lead.page.getByTestId('member');
  await expect(li).toHaveCount(1);
  await expect(li).toContainText('李明');
  // The lead could log in as the member with a reset code they issued: not theirs to issue.
  await expect(li.getByRole('button', { name: '重置密码' })).toHaveCount(0);
  await expect(lead.page.getByText(/已加入的成员忘记密码，请联系党委或区委组织部管理员重置/)).toBeVisible();

  const { app: committee } = await newApp();
  await committee.login('13800000008');
  await committee.page.getByRole('link', { name: '我的' }).click();
  await committee.page.getByRole('link', { name: '成员与邀请' }).click();
  await committee.page.getByLabel('按姓名或手机号查找').fill(MEMBER);
  const theirs = committee.page.getByTestId('member');
  await theirs.getByRole('button', { name: '重置密码' }).click();
  const code = (await theirs.getByTestId('invitation-code').textContent())!;
  await expect(theirs).toContainText('李明的重置码');

  const { app: member } = await newApp();
  await member.page.goto('/');
  await member.page.getByRole('link', { name: '有邀请码？设置密码加入' }).click();
  await member.page.getByLabel('邀请码').fill(code.toLowerCase());
  await member.page.getByRole('button', { name: '查看邀请' }).click();
  await expect(member.page.getByTestId('join-preview')).toContainText('李明同志（138****0002）');
  await member.page.getByLabel('设置密码（至少8位）').fill('liming-2026');
  await member.page.getByLabel('再输入一次').fill('liming-2027');
  await member.page.getByRole('button', { name: '设置密码并登录' }).click();
  await expect(member.page.getByRole('alert')).toHaveText('两次输入的密码不一致');
  await member.page.getByLabel('再输入一次').fill('liming-2026');
  await member.page.getByLabel('我已阅读并同意《个人信息保护说明》').check();
  await member.page.getByRole('button', { name: '设置密码并登录' }).click();
  await expect(member.page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  // Whoever logs in next on a phone is told who reset the password and when.
  await expect(member.page.getByRole('alert').filter({ hasText: '账号提醒' })).toContainText('郭强（党委管理员）发起了密码重置');

  const old = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: MEMBER, password: 'hongyan-demo' }),
  });
  expect(old.status).toBe(401);

  // The lead keeps 张伟's record: his 流动党员 registration with the 活动证, the 机关 branch he also
  // attends, and an approved exemption.
  await lead.page.getByLabel('按姓名或手机号查找').fill('张伟');
  await li.getByRole('link', { name: /成员资料/ }).click();
  const form = lead.page.getByTestId('profile');
  await expect(form).toContainText('张伟 13800000004');
  await form.getByLabel('区发展改革委机关党支部').check();
  await form.getByLabel('流动党员外出登记').check();
  await form.getByLabel('外出日期').fill('2026-03-01');
  await form.getByLabel('外出地点').fill('上海市浦东新区');
  await form.getByLabel('《流动党员活动证》编号').fill('苏流2026-0012');
  await form.getByLabel('活动证有效期至').fill('2027-02-28');
  await form.getByLabel('原因（疾病、孕产、年老体弱、出国（境）等）').fill('孕产');
  await form.getByLabel('截止日期').fill('2026-12-31');
  await form.getByRole('button', { name: '添加免参加' }).click();
  await expect(form).toContainText('孕产，至2026-12-31');
  await form.getByRole('button', { name: '保存资料' }).click();
  await expect(form.getByRole('status')).toContainText('已保存');
  await lead.page.reload();
  await expect(form.getByLabel('《流动党员活动证》编号')).toHaveValue('苏流2026-0012');
  await expect(form.getByLabel('区发展改革委机关党支部')).toBeChecked();
  await expect(form).toContainText('孕产，至2026-12-31');
});

test('the admin adds a temporary branch, reads each branch against the calendar, drills down and exports; a lead sees only their branch', async ({ server, newApp }) => {
  const { app: lead } = await newApp();
  await lead.login('13800000001');
  await lead.page.getByRole('link', { name: '我的' }).click();
  await lead.page.getByRole('link', { name: '组织生活统计' }).click();
  const mine = lead.page.getByTestId('district-table');
  await expect(mine.getByRole('row')).toHaveCount(2);
  await expect(mine).toContainText(SITE);
  await expect(lead.page.getByRole('button', { name: /上级/ })).toHaveCount(0);

  const { app: admin } = await newApp();
  await admin.login(ADMIN);

  // A project on a new site: a temporary branch under the joint committee, with its start date.
  await admin.page.getByRole('link', { name: '我的' }).click();
  await admin.page.getByRole('link', { name: '组织管理' }).click();
  const committee = admin.page.getByTestId('org').filter({ hasText: '流动党员建筑行业联合党委' }).first();
  await committee.getByRole('button', { name: '新建下级组织' }).click();
  await admin.page.getByLabel('名称').fill('苏州河项目临时党支部');
  await admin.page.getByLabel('形式').selectOption({ label: '临时党支部' });
  await admin.page.getByRole('button', { name: '保存' }).click();
  await expect(admin.page.getByRole('alert')).toHaveText('临时党支部需要填写成立日期');
  await admin.page.getByLabel('成立日期（临时党支部必填）').fill('2026-03-01');
  await admin.page.getByRole('button', { name: '保存' }).click();
  const temp = admin.page.getByTestId('org').filter({ hasText: '苏州河项目临时党支部' });
  await expect(temp).toContainText('临时党支部 · 2026-03-01 成立 · 0人');

  await admin.page.getByRole('link', { name: '统计' }).click();
  const table = admin.page.getByTestId('district-table');
  await expect(table.getByRole('row')).toHaveCount(4);
  // In tree order: the new branch beside its committee's other branch, not after every older one.
  await expect(table.getByRole('row').nth(1)).toContainText(SITE);
  await expect(table.getByRole('row').nth(2)).toContainText('苏州河项目临时党支部');
  await expect(table.getByRole('row').nth(3)).toContainText('区发展改革委机关党支部');
  await expect(table.getByRole('row').nth(3)).toContainText('乡科级及以下干部：0/1');
  const summary = admin.page.getByTestId('district-summary');
  await expect(summary).toContainText('区委组织部');
  await expect(summary).toContainText('3个支部');

  // Down to the joint committee, and back up.
  await summary.getByRole('button', { name: '流动党员建筑行业联合党委 ›' }).click();
  await expect(summary).toContainText('流动党员建筑行业联合党委');
  await expect(table.getByRole('row')).toHaveCount(3);
  await summary.getByRole('button', { name: '‹ 上级：区委组织部' }).click();
  await expect(table.getByRole('row')).toHaveCount(4);

  // The whole year, and the Excel file.
  await admin.page.getByLabel('期间').selectOption({ label: '全年' });
  await expect(summary.getByRole('heading', { level: 2 })).toHaveText(/^区委组织部 · \d{4}年$/);
  const download = admin.page.waitForEvent('download');
  await admin.page.getByRole('button', { name: '导出 Excel' }).click();
  expect((await download).suggestedFilename()).toMatch(/^组织生活统计-区委组织部-\d{4}年\.xlsx$/);
  await expect(admin.page.getByText('按组织顺序列出，不作比较')).toBeVisible();
});

test('the district admin names a committee admin who runs only their committee; a lead holds a 党小组会 for one group', async ({ server, newApp }) => {
  const { app: admin } = await newApp();
  await admin.login(ADMIN);
  await admin.page.getByRole('link', { name: '我的' }).click();
  await admin.page.getByRole('link', { name: '组织管理' }).click();
  const committee = admin.page.getByTestId('org').filter({ hasText: '流动党员建筑行业联合党委' }).first();
  const admins = committee.getByTestId('org-admins');
  await expect(admins).toContainText('郭强');
  await admins.getByLabel('新增管理员姓名').fill('郑华');
  await admins.getByLabel('手机号（单独的工作账号）').fill('13800000002');
  await admins.getByRole('button', { name: '设为管理员' }).click();
  await expect(admins.getByRole('alert')).toContainText('这个手机号已有账号');
  await admins.getByLabel('手机号（单独的工作账号）').fill('13900000031');
  await admins.getByRole('button', { name: '设为管理员' }).click();
  const zheng = admins.getByRole('listitem').filter({ hasText: '郑华' });
  await expect(zheng).toContainText('未加入');
  await zheng.getByRole('button', { name: '发邀请' }).click();
  const link = await zheng.getByTestId('invitation-link').textContent();

  // 郑华 joins with the link and works for the joint committee only.
  const { app: zh } = await newApp();
  await zh.page.goto(link!);
  await expect(zh.page.getByTestId('join-preview')).toContainText('流动党员建筑行业联合党委');
  await zh.page.getByLabel('设置密码（至少8位）').fill('zhenghua-2026');
  await zh.page.getByLabel('再输入一次').fill('zhenghua-2026');
  await zh.page.getByLabel('我已阅读并同意《个人信息保护说明》').check();
  await zh.page.getByRole('button', { name: '设置密码并登录' }).click();
  await expect(zh.page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  await zh.page.getByRole('link', { name: '我的' }).click();
  await expect(zh.page.getByText('党委管理员')).toBeVisible();
  await expect(zh.page.getByRole('link', { name: '操作日志' })).toHaveCount(0);
  await zh.page.getByRole('link', { name: '成员与邀请' }).click();
  await expect(zh.page.getByTestId('member').filter({ hasText: '李明' })).toHaveCount(1);
  await expect(zh.page.getByTestId('member').filter({ hasText: '孙丽' })).toHaveCount(0);
  await zh.page.getByRole('link', { name: '统计' }).click();
  const table = zh.page.getByTestId('district-table');
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table).toContainText(SITE);
  await expect(table.getByRole('columnheader', { name: /党小组会/ })).toBeVisible();
  await expect(zh.page.getByRole('button', { name: /上级/ })).toHaveCount(0);
  await zh.page.goto('/orgs');
  await expect(zh.page.getByTestId('org')).toHaveCount(3);
  await expect(zh.page.getByRole('button', { name: '新建下级组织' })).toHaveCount(0);

  // The lead publishes a 党小组会 for 钢筋班组: its three members are on the roster.
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByLabel('类型').selectOption({ label: '党小组会' });
  await expect(lead.page.getByLabel('党小组')).toHaveValue(/\d+/);
  await lead.page.getByLabel('主题').fill('十一月党小组会');
  await lead.page.getByLabel('开始时间').fill(shanghaiInput(-5));
  await lead.page.getByRole('button', { name: '发布' }).click();
  await expect(lead.page.getByText('党小组会 · 钢筋班组党小组')).toBeVisible();
  await expect(lead.syncState()).toContainText('已全部上传');
  const { activities, attendance } = await apiPull(server);
  const meeting = activities.find((a) => a.title === '十一月党小组会');
  expect(meeting.group_name).toBe('钢筋班组党小组');
  expect(attendance.filter((r) => r.activity_id === meeting.id).map((r) => r.member_name).sort())
    .toEqual(['张伟', '李明', '王建国'].sort());

  // Withdrawn by the district admin: 郑华's session ends.
  await admin.page.reload();
  await committee.getByTestId('org-admins').getByRole('listitem').filter({ hasText: '郑华' })
    .getByRole('button', { name: '停用' }).click();
  await expect(admins).not.toContainText('郑华');
  const me = await zh.page.evaluate(async () => {
    const token = JSON.parse(localStorage.getItem('hongyan.session') ?? 'null')?.token;
    return (await fetch('/api/v1/me', { headers: { authorization: `Bearer ${token}` } })).status;
  });
  expect(me).toBe(401);
  expect([...admin.errors, ...zh.errors, ...lead.errors]).toEqual([]);
});

test('a page left while its answer is on the way breaks nothing, nor does a save’s answer, a search that finds nobody says so, and a read with no network or refused says which', async ({ newApp }) => {
  const { app: admin } = await newApp();
  await admin.login(ADMIN);
  // The online-only pages' answers arrive after the admin has already gone back to 首页.
  const slow = async (route: import('@playwright/test').Route) => {
    await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  };
  for (const pattern of ['**/api/v1/members**', '**/api/v1/district**', '**/api/v1/study/overview**']) {
    await admin.page.route(pattern, slow);
  }
  for (const [path, heading] of [['/members', '成员与邀请'], ['/district', '组织生活统计'], ['/study/overview', '学时完成情况']]) {
    await admin.page.goto(path);
    await expect(admin.page.getByRole('heading', { name: heading })).toBeVisible();
    await admin.page.getByRole('link', { name: '首页' }).click();
    await admin.page.waitForTimeout(1200);
    expect(admin.errors.map((e) => e.message)).toEqual([]);
  }
  await admin.page.unrouteAll();
  await admin.page.goto('/members');
  await admin.page.getByLabel('按姓名或手机号查找').fill('没有这个人');
  await expect(admin.page.getByTestId('members-none')).toHaveText('全区没有找到“没有这个人”。请检查姓名或手机号。');
  await expect(admin.page.getByTestId('member')).toHaveCount(0);

  // A save whose answer asks for the tree again after the admin has left 组织管理.
  let creates = 0;
  await admin.page.route('**/api/v1/orgs', async (route) => {
    if (route.request().method() === 'POST') creates += 1;
    await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  });
  await admin.page.goto('/orgs');
  const committee = admin.page.getByTestId('org').filter({ hasText: '流动党员建筑行业联合党委' }).first();
  await committee.getByRole('button', { name: '新建下级组织' }).click();
  await admin.page.getByLabel('名称').fill('静安项目党支部');
  await admin.page.getByRole('button', { name: '保存' }).click();
  await admin.page.getByRole('link', { name: '首页' }).click();
  await admin.page.waitForTimeout(1200);
  expect(creates).toBe(1);
  expect(admin.errors.map((e) => e.message)).toEqual([]);
  await admin.page.unrouteAll();

  // An online-only read with no network says what needs it; a refusal is said as an alert.
  await admin.page.route('**/api/v1/audit**', (route) => route.abort('internetdisconnected'));
  await admin.page.goto('/audit');
  await expect(admin.page.getByRole('status').filter({ hasText: '当前无网络，联网后可查看。' })).toBeVisible();
  await admin.page.unrouteAll();
  await admin.page.route('**/api/v1/audit**', (route) =>
    route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ message: '只有区委组织部管理员可以查看操作日志' }) }),
  );
  await admin.page.goto('/audit');
  await expect(admin.page.getByRole('alert')).toHaveText('只有区委组织部管理员可以查看操作日志');
  await admin.page.unrouteAll();
});

test('the district admin changes the settings every phone receives; a value out of range is explained', async ({ server, newApp }) => {
  const { app: admin } = await newApp();
  await admin.login(ADMIN);
  await admin.page.getByRole('link', { name: '我的' }).click();
  await admin.page.getByRole('link', { name: '签到与提醒设置' }).click();
  const step = admin.page.getByLabel(/签到码每隔多少秒更换/);
  await expect(step).toHaveValue('60');
  await step.fill('5');
  await admin.page.getByRole('button', { name: '保存' }).click();
  await expect(admin.page.getByRole('alert')).toHaveText('签到码每隔多少秒更换：请填写10至600之间的整数');
  await step.fill('30');
  await admin.page.getByLabel(/活动结束后几天内可申请补签/).fill('7');
  await admin.page.getByRole('button', { name: '保存' }).click();
  await expect(admin.page.getByText(/已保存/)).toBeVisible();
  // Phones receive them with their next pull.
  const pulled: any = await apiPull(server, LEAD);
  expect(pulled.settings.code_step_ms).toBe(30_000);
  expect(pulled.settings.makeup_window_ms).toBe(7 * 24 * 3_600_000);
});
