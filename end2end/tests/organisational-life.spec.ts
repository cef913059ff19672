// Organisational life end to end, a lead and two members on three phones: the rotating code shown with no
// signal and verified when the record arrives, leave approved, make-ups approved and refused, 补学, and
// closing, printing and exporting the meeting record.
import { readFileSync } from 'node:fs';
import { test, expect, apiPublish, apiPublishRotating, apiPull, apiPush, rotatingCode, LEAD, MEMBER, MEMBER2, shanghaiInput } from './fixtures';

test('offline, the lead shows a rotating code and QR and a member signs in with it; verified after sync', async ({ server, newApp }) => {
  const { app: lead, context: leadPhone } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByLabel('类型').selectOption({ label: '支部党员大会' });
  await lead.page.getByLabel('主题').fill('第三季度支部党员大会');
  await lead.page.getByLabel('形式').selectOption({ label: '线上+线下' });
  await lead.page.getByLabel('开始时间').fill(shanghaiInput(-5));
  await lead.page.getByRole('button', { name: '发布' }).click();
  await expect(lead.syncState()).toContainText('已全部上传');
  await expect(lead.page.getByTestId('quorum')).toContainText('有表决权的党员4人，到会0人，到会人数未过半数');
  const { activities } = await apiPull(server);
  const published = activities.find((a) => a.title === '第三季度支部党员大会');
  expect(published.mode).toBe('hybrid');

  const { app: member, context: memberPhone } = await newApp();
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: /第三季度支部党员大会/ }).click();
  await member.waitForOfflineReady();
  await lead.waitForOfflineReady();

  // No signal at the meeting: neither phone reaches the server.
  await server.stop();
  await leadPhone.setOffline(true);
  await memberPhone.setOffline(true);
  await lead.page.getByRole('link', { name: '全屏出示签到码和二维码' }).click();
  const code = lead.page.getByTestId('sign-in-code');
  // The code on the lead's phone is the one the server will expect at this minute (or the next, if the
  // minute turned while we looked).
  const now = Date.now();
  await expect(code).toHaveText(new RegExp(`^(${rotatingCode(published.secret, now)}|${rotatingCode(published.secret, now + 60_000)})$`));
  await expect(lead.page.getByRole('img', { name: '签到二维码' })).toBeVisible();
  await expect(lead.page.getByText(/\d+秒后刷新/)).toBeVisible();

  await member.page.reload();
  await member.page.getByLabel('签到码').fill((await code.textContent())!.trim());
  await member.page.getByRole('button', { name: '签到' }).click();
  await expect(member.myStatus()).toHaveText('待上传');

  // The QR carries a link into the app with the code; a second member scans it (offline too).
  const link = `/s/${published.id}?c=${rotatingCode(published.secret)}`;
  const { app: scanner, context: scannerPhone } = await newApp();
  await server.start();
  await scanner.login(MEMBER2);
  await scanner.waitForOfflineReady();
  await server.stop();
  await scannerPhone.setOffline(true);
  await scanner.page.goto(link);
  await expect(scanner.myStatus()).toHaveText('待上传');

  // Signal returns: both records arrive and verify against the time they were made.
  await server.start();
  for (const phone of [memberPhone, scannerPhone, leadPhone]) await phone.setOffline(false);
  await member.syncNow();
  await scanner.syncNow();
  await expect(member.myStatus()).toHaveText('已送达', { timeout: 30_000 });
  await expect(scanner.myStatus()).toHaveText('已送达', { timeout: 30_000 });
  const rows = (await apiPull(server)).attendance.filter((r) => r.activity_id === published.id && r.status === 'signed_in');
  expect(rows.map((r) => [r.member_name, r.code_unverified]).sort()).toEqual([['张伟', false], ['李明', false]]);

  await lead.page.goto(`/activity/${published.id}`);
  await lead.syncNow();
  await lead.page.getByRole('button', { name: '一键确认全部（2人）' }).click();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '已签到（已确认）' })).toHaveCount(2);
  await expect(lead.page.getByTestId('tally')).toContainText('应到6人，实到2人');
  await expect(lead.syncState()).toContainText('已全部上传');
});

test('leave is asked offline before the start and approved; make-ups are approved or refused with a reason; 补学', async ({ server, newApp }) => {
  const upcoming = await apiPublishRotating(server, '主题党日：安全生产', { startsInMin: 180 });
  const past = await apiPublishRotating(server, '党课：党章学习', { startsInMin: -26 * 60, hours: 2, kind: 'party_lecture' });

  const { app: member, context: memberPhone } = await newApp();
  await member.login(MEMBER);
  await member.waitForOfflineReady();
  await member.page.getByRole('link', { name: /主题党日：安全生产/ }).click();
  await server.stop();
  await memberPhone.setOffline(true);
  await member.page.getByLabel('类别').selectOption({ label: '因公' });
  await member.page.getByLabel('请假事由').fill('在苏州工地值班');
  await member.page.getByRole('button', { name: '提交请假' }).click();
  await expect(member.myStatus()).toHaveText('请假待审批');
  await expect(member.page.getByTestId('my-request').first()).toContainText('因公：在苏州工地值班');
  await server.start();
  await memberPhone.setOffline(false);
  await member.syncNow();
  await expect(member.syncState()).toContainText('已全部上传', { timeout: 30_000 });

  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByRole('link', { name: /主题党日：安全生产/ }).click();
  const leaveRow = lead.page.getByTestId('roster-row').filter({ hasText: '李明' });
  await expect(leaveRow).toContainText('请假待审批');
  await expect(leaveRow).toContainText('因公：在苏州工地值班');
  await lead.page.getByRole('button', { name: '准假 李明', exact: true }).click();
  await expect(leaveRow).toContainText('已请假');
  await expect(lead.syncState()).toContainText('已全部上传');
  await member.syncNow();
  await expect(member.myStatus()).toHaveText('已请假');

  // The lecture ended yesterday: both members missed it and ask for a make-up.
  const { app: other } = await newApp();
  await other.login(MEMBER2);
  for (const [app, reason] of [[member, '工地没有信号，未能签到'], [other, '忘记签到']] as const) {
    await app.page.goto(`/activity/${past.id}`);
    await app.page.getByLabel('补签原因', { exact: false }).fill(reason);
    await app.page.getByRole('button', { name: '提交补签申请' }).click();
    await expect(app.myStatus()).toHaveText('补签待审核');
    await expect(app.syncState()).toContainText('已全部上传');
  }
  await lead.page.goto(`/activity/${past.id}`);
  await lead.syncNow();
  await lead.page.getByRole('button', { name: '同意补签 李明' }).click();
  await lead.page.getByRole('button', { name: '补签不通过 张伟' }).click();
  await lead.page.getByLabel('补签不通过：请填写原因').fill('当天未见到本人');
  await lead.page.getByRole('button', { name: '确定' }).click();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '李明' })).toContainText('已补签');
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '张伟' })).toContainText('补签未通过');
  await expect(lead.syncState()).toContainText('已全部上传');

  await member.syncNow();
  await expect(member.myStatus()).toHaveText('已补签');
  await other.syncNow();
  await expect(other.myStatus()).toHaveText('补签未通过');
  await expect(other.page.getByText('书记意见：当天未见到本人')).toBeVisible();
  await other.page.getByLabel('补学内容', { exact: false }).fill('自学党章并撰写学习体会');
  await other.page.getByRole('button', { name: '登记补学' }).click();
  await expect(other.page.getByText('已登记补学：自学党章并撰写学习体会')).toBeVisible();
  await expect(other.syncState()).toContainText('已全部上传');
  const row = (await apiPull(server)).attendance.find((r) => r.activity_id === past.id && r.member_name === '张伟');
  expect([row.status, row.lead_note, row.study]).toEqual(['makeup_rejected', '当天未见到本人', '自学党章并撰写学习体会']);
});

test('the lead settles the roster, closes the record, prints it and exports it as CSV and Excel', async ({ server, newApp }) => {
  const meeting = await apiPublishRotating(server, '支部党员大会：选举', { startsInMin: -90, hours: 1, kind: 'general_meeting' });
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByRole('link', { name: /支部党员大会：选举/ }).click();

  // Closing too early names what is missing.
  await lead.page.getByLabel('记录人').fill('李明');
  await lead.page.getByRole('button', { name: '归档' }).click();
  await expect(lead.page.getByText(/^请填写缺席原因：王建国、李明、张伟、刘洋、陈静、钱鹏$/)).toBeVisible();

  // The lead marks themselves present as their own statement — never confirmed by themselves.
  await lead.page.getByRole('button', { name: '标记本人出席 王建国' }).click();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '王建国' })).toContainText('已签到（待确认）');
  for (const name of ['李明', '张伟']) {
    await lead.page.getByRole('button', { name: `标记出席 ${name}` }).click();
  }
  for (const name of ['刘洋', '陈静', '钱鹏']) {
    await lead.page.getByRole('button', { name: `缺席原因 ${name}` }).click();
    await lead.page.getByLabel('记为缺席：请填写原因').fill('在外地工地施工');
    await lead.page.getByRole('button', { name: '确定' }).click();
  }
  await expect(lead.page.getByTestId('quorum')).toHaveText('有表决权的党员4人，到会3人，到会人数已过半数');
  await lead.page.getByRole('button', { name: '归档' }).click();
  await expect(lead.syncState()).toContainText('已全部上传');

  await lead.page.getByRole('link', { name: '查看和打印会议记录' }).click();
  const record = lead.page.getByTestId('meeting-record');
  await expect(record).toContainText('支部党员大会会议记录');
  await expect(lead.page.getByTestId('record-tally')).toHaveText('应到6人，实到3人，请假0人，缺席3人，到会率50.0%');
  await expect(record).toContainText('正式党员3人，预备党员0人');
  await expect(record).toContainText('刘洋（在外地工地施工）、陈静（在外地工地施工）、钱鹏（在外地工地施工）');
  await expect(record).toContainText('王建国');
  await expect(record).toContainText('已归档');
  await lead.page.emulateMedia({ media: 'print' });
  await expect(lead.page.getByRole('button', { name: '打印' })).toBeHidden();
  await expect(lead.page.locator('.bottom-nav')).toBeHidden();
  await lead.page.emulateMedia({ media: 'screen' });

  const csvDownload = lead.page.waitForEvent('download');
  await lead.page.getByRole('button', { name: '导出 CSV' }).click();
  const csv = readFileSync((await (await csvDownload).path())!, 'utf8');
  expect(csv.startsWith('\ufeff"主题","支部党员大会：选举"')).toBe(true);
  expect(csv).toContain('"主持人","王建国"');
  expect(csv).toContain('"记录人","李明"');
  expect(csv).toContain('"出席情况","应到6人，实到3人，请假0人，缺席3人，到会率50.0%"');
  expect(csv).toContain('"表决","有表决权的党员4人，到会3人，到会人数已过半数"');
  expect(csv).toContain('"钱鹏","正式党员","是","缺席","","在外地工地施工","",""');
  expect(csv).toMatch(/"李明","正式党员","","已签到（已确认）"/);
  expect(csv).toMatch(/"王建国","正式党员","","已签到（待确认）".*本人标记出席，未经他人确认/);

  const xlsxDownload = lead.page.waitForEvent('download');
  await lead.page.getByRole('button', { name: '导出 Excel' }).click();
  const download = await xlsxDownload;
  expect(download.suggestedFilename()).toBe('签到登记-支部党员大会：选举.xlsx');
  const xlsx = readFileSync((await download.path())!);
  expect(xlsx.subarray(0, 2).toString()).toBe('PK');
  expect(xlsx.length).toBeGreaterThan(3000);

  // The closed record takes nothing more: no actions are offered.
  await lead.page.getByRole('link', { name: '返回活动' }).click();
  await expect(lead.page.getByRole('button', { name: '归档' })).toHaveCount(0);
  await expect(lead.page.getByRole('button', { name: /标记出席/ })).toHaveCount(0);
});

test('a reason the lead is typing stays while a sync brings another member\'s sign-in', async ({ server, newApp }) => {
  const meeting = await apiPublish(server, '周五主题党日');
  const { app: lead } = await newApp();
  await lead.login(LEAD);
  await lead.page.getByRole('link', { name: /周五主题党日/ }).click();
  await lead.page.getByRole('button', { name: '缺席原因 张伟' }).click();
  await lead.page.getByLabel('记为缺席：请填写原因').fill('在工地值');

  // 李明 signs in from his own phone; the lead's phone syncs and shows it.
  expect((await apiPush(server, MEMBER, 'sign_in', { activity_id: meeting.id, code: meeting.code })).status).toBe('applied');
  await lead.page.getByRole('button', { name: '立即同步' }).click();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '李明' })).toContainText('已签到');

  // The row the lead was writing in was not redrawn: the half-typed reason is still there.
  await expect(lead.page.getByLabel('记为缺席：请填写原因')).toHaveValue('在工地值');
  await lead.page.getByLabel('记为缺席：请填写原因').pressSequentially('班');
  await lead.page.getByRole('button', { name: '确定' }).click();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '张伟' })).toContainText('缺席');
});

test('location sign-in: only with separate consent, one fix, and only the outcome leaves the phone', async ({ server, newApp }) => {
  const venue = { latitude: 31.2304, longitude: 121.4737 };
  const { app: lead } = await newApp({ geolocation: venue, permissions: ['geolocation'] });
  await lead.login(LEAD);
  await lead.page.getByLabel('主题').fill('工地现场党小组会');
  await lead.page.getByLabel('开始时间').fill(shanghaiInput(-5));
  await lead.page.getByRole('button', { name: '以我当前位置为中心' }).click();
  await expect(lead.page.getByTestId('fence')).toHaveText('已设置位置签到：半径200米');
  await lead.page.getByRole('button', { name: '发布' }).click();
  await expect(lead.syncState()).toContainText('已全部上传');

  const near = { latitude: 31.2310, longitude: 121.4737 };
  const { app: member } = await newApp({ geolocation: near, permissions: ['geolocation'] });
  await member.login(MEMBER);
  await member.page.getByRole('link', { name: /工地现场党小组会/ }).click();
  await expect(member.page.getByText('本活动可用位置签到，需要您在「我的」中单独同意后使用。')).toBeVisible();
  await expect(member.page.getByRole('button', { name: '位置签到' })).toHaveCount(0);
  await member.page.getByRole('link', { name: '我的' }).click();
  await member.page.getByRole('button', { name: '同意位置签到' }).click();
  await expect(member.page.getByTestId('location-consent')).toHaveText('已同意位置签到');
  await member.page.getByRole('link', { name: '首页' }).click();
  await member.page.getByRole('link', { name: /工地现场党小组会/ }).click();
  await member.page.getByRole('button', { name: '位置签到' }).click();
  await expect(member.myStatus()).toHaveText(/^已送达/);
  // No code proved it: it waits for the lead, and the member is not told of a wrong code they never typed.
  await member.syncNow();
  await expect(member.myStatus()).toHaveText('已送达（待书记核实）');
  await expect(member.page.getByTestId('code-flag')).toHaveText('签到尚未经签到码核实，书记将核实。您也可以输入书记出示的签到码。');

  // Far from the site: kept, but flagged for the lead.
  const far = { latitude: 31.2394, longitude: 121.4737 };
  const { app: other } = await newApp({ geolocation: far, permissions: ['geolocation'] });
  await other.login(MEMBER2);
  await other.page.getByRole('link', { name: '我的' }).click();
  await other.page.getByRole('button', { name: '同意位置签到' }).click();
  await other.page.getByRole('link', { name: '首页' }).click();
  await other.page.getByRole('link', { name: /工地现场党小组会/ }).click();
  await other.page.getByRole('button', { name: '位置签到' }).click();
  await expect(other.myStatus()).toHaveText(/^已送达/);

  // A location is the member's own statement (the phone could say anything): the lead sees it as 位置自报,
  // inside or out, and 一键确认全部 leaves both for the lead to judge.
  await lead.syncNow();
  await expect(lead.page.getByTestId('roster-row').filter({ hasText: '李明' })).toContainText(/位置自报：范围内，距离\d+米（精度\d+米），未经签到码验证/);
  const flagged = lead.page.getByTestId('roster-row').filter({ hasText: '张伟' });
  await expect(flagged).toContainText(/位置自报：范围外，距离\d+米/);
  await expect(lead.page.getByRole('button', { name: /一键确认全部/ })).toHaveCount(0);
  const rows = (await apiPull(server)).attendance.filter((r) => r.location);
  for (const r of rows) expect(Object.keys(r.location).sort()).toEqual(['accuracy_m', 'distance_m', 'inside']);

  // Withdrawing consent stops location sign-in at once.
  await other.page.getByRole('link', { name: '我的' }).click();
  await other.page.getByRole('button', { name: '撤回位置签到同意' }).click();
  await expect(other.page.getByTestId('location-consent')).toHaveText('未同意位置签到');
});

test('the lead\'s code fits a phone\'s width, in two groups, at 320 to 430 px and at large text', async ({ server, newApp }) => {
  const { id } = await apiPublishRotating(server, '代码宽度检查', { startsInMin: -5 });
  const { app: lead } = await newApp({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await lead.login(LEAD);
  for (const large of [false, true]) {
    for (const width of [320, 360, 390, 430]) {
      await lead.page.setViewportSize({ width, height: 800 });
      for (const path of [`/activity/${id}`, `/activity/${id}/code`]) {
        await lead.page.goto(path);
        // (Through the CSSOM: the CSP forbids a style tag.)
        if (large) await lead.page.evaluate(() => { document.documentElement.style.fontSize = '125%'; });
        const code = lead.page.getByTestId('sign-in-code');
        await expect(code).toHaveText(/^\d{6}$/);
        const fits = await code.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const last = el.lastElementChild!.getBoundingClientRect();
          const root = document.documentElement;
          return { right: Math.max(box.right, last.right), width: root.clientWidth, scroll: root.scrollWidth };
        });
        expect(fits.right, `${path} at ${width} px${large ? ', large text' : ''}`).toBeLessThanOrEqual(fits.width);
        expect(fits.scroll, `${path} at ${width} px${large ? ', large text' : ''}`).toBeLessThanOrEqual(fits.width);
        await expect(code.locator('span')).toHaveCount(2);
      }
    }
  }
});
