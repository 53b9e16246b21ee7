// The dashboard in a real browser (issue 7, points 2-6): a gateway and two
// listening nodes as real processes over mutual TLS on loopback, the page
// opened in Debian's headless Chromium (driven by playwright-core, which
// downloads no browser), a message sent from a third node; the page must show
// it with the right decision for every recipient, its detail, its frame log
// and its sequence diagram. Then, under policies/need-to-share.yaml, a
// message held for a critical reader is approved from the page, which is
// mounted under a prefix as an exercise host mounts a table's dashboard
// (/f/SECRET/t/0/), so every URL the page uses must be relative. Last, a
// gateway enforcing policies/need-to-know.yaml with need-to-share.yaml as its
// shadow (serve --shadow-policy): the page must show the difference.
// Screenshots go to ICEGATE_ARTIFACT_DIR.
//
// Exit status: 0 passed, 1 failed, 77 skipped (only when /usr/bin/chromium or
// playwright-core is missing; ctest registers 77 as SKIP_RETURN_CODE).
//
// Environment: ICEGATE_BINARY (required), ICEGATE_ARTIFACT_DIR (default: a
// test-artifacts directory beside the binary's build tree), ICEGATE_CHROMIUM
// (default /usr/bin/chromium), ICEGATE_KEEP=1 keeps the work directory.
import { spawn, execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));
const repo_root = path.resolve(here, '../..');
const chromium_path = process.env.ICEGATE_CHROMIUM || '/usr/bin/chromium';
const icegate = process.env.ICEGATE_BINARY;
const artifact_dir = process.env.ICEGATE_ARTIFACT_DIR
  || (icegate ? path.resolve(path.dirname(icegate), '../test-artifacts') : path.join(tmpdir(), 'icegate-test-artifacts'));
// Upper bounds for things to happen, not expectations of speed: the machine is shared and noisy.
const WAIT_MS = 30_000;

const policy = path.join(repo_root, 'policies/demo.yaml');
const message_file = path.join(repo_root, 'policies/demo/problem-profile.yaml');
const message_title = 'CT neighbourhood problem profile: Sparkhill';
const sender = 'ctu-wm';
const listeners = ['ctio-east', 'council-prevent'];
// What policies/demo.yaml decides for the problem profile (see README.md).
const expected = {
  'ctio-east': { decision: 'RELEASE', rule: 'profile-to-police' },
  'council-prevent': { decision: 'RELEASE_REDACTED', rule: 'profile-to-council-restricted', withheld: 'intelligence' },
  'npt-sparkhill': { decision: 'RELEASE_REDACTED', withheld: 'intelligence' },
  'iag-birmingham': { decision: 'DENY', rule: 'no-ct-material-to-community' },
};

function log(text) {
  process.stdout.write(`dashboard_test: ${text}\n`);
}

function skip(reason) {
  log(`SKIPPED: ${reason}`);
  process.exit(SKIP);
}

// --- what must be present, or the test is skipped ---------------------------

if (!icegate) {
  log('ICEGATE_BINARY must name the icegate binary (ctest sets it)');
  process.exit(1);
}
if (!existsSync(chromium_path)) {
  skip(`${chromium_path} is not installed (Debian's chromium package; tools/dev setup installs it)`);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (error) {
  const npm_log = path.join(repo_root, 'build/browser-npm.log');
  const why = existsSync(npm_log) ? `; the last npm ci said:\n${readFileSync(npm_log, 'utf8').trim().split('\n').slice(-5).join('\n')}` : '';
  skip(`playwright-core is not installed in ${path.join(here, 'node_modules')} (${error.code ?? error.message}); ` +
    `tools/dev setup runs npm ci there, which needs the npm registry${why}`);
}

// --- processes, cleaned up on every way out ----------------------------------

const work = mkdtempSync(path.join(tmpdir(), 'icegate-dashboard-'));
const children = new Set();
const servers = new Set();
let browser = null;
let cleaning = null;

async function cleanup() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    if (browser) await browser.close().catch(() => {});
    for (const server of servers) server.close();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    for (const child of children) {
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (process.env.ICEGATE_KEEP === '1') log(`kept the work directory ${work}`);
    else rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`stopped by ${signal}`);
    cleanup().finally(() => process.exit(1));
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function start(name, args) {
  const output = path.join(work, `${name}.log`);
  const child = spawn(icegate, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.log_file = output;
  child.text = '';
  const keep = (chunk) => {
    child.text += chunk;
    writeFileSync(output, child.text);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  children.add(child);
  return child;
}

async function wait_for(what, condition, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout / 1000} s`);
    await sleep(100);
  }
}

const run = promisify(execFile);

// --- the test ----------------------------------------------------------------

const console_problems = [];
let page = null;

async function main() {
  mkdirSync(artifact_dir, { recursive: true });
  await show_a_message();
  await approve_a_hold();
  await show_a_shadow_difference();
  await show_the_peers();
  if (console_problems.length) throw new Error(`the page reported problems:\n  ${console_problems.join('\n  ')}`);
  log(`passed; screenshots in ${artifact_dir}`);
}

// `icegate serve` with its dashboard on a port of its choosing; both ports from their port files.
async function start_gateway(name, policy_file, pki, extra = [], listen = '127.0.0.1:0') {
  const port_file = path.join(work, `${name}.port`);
  const http_port_file = path.join(work, `${name}.http-port`);
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const child = start(name, ['serve', '--policy', policy_file, '--pki', pki, '--listen', listen,
    '--data', path.join(work, `${name}-data`), '--port-file', port_file, '--no-fsync',
    '--http', '127.0.0.1:0', '--http-port-file', http_port_file, ...extra]);
  const read_port = (file) => {
    if (!existsSync(file)) return null;
    const match = /(\d+)\s*$/.exec(readFileSync(file, 'utf8'));
    return match ? match[1] : null;
  };
  const started = (file, what) => wait_for(what, () => {
    if (child.exitCode !== null) throw new Error(`icegate serve exited with ${child.exitCode}`);
    return read_port(file);
  });
  const gateway_port = await started(port_file, 'the gateway writes its port');
  const http_port = await started(http_port_file, 'the dashboard writes its port');
  log(`${name}: gateway on ${host}:${gateway_port}, dashboard on http://127.0.0.1:${http_port}/`);
  return { gateway_address: `${host}:${gateway_port}`, http_port };
}

// Mounts the dashboard under `prefix` as an exercise host does: strips the
// prefix from each request (WebSocket upgrades included) and passes it on;
// anything outside the prefix is a 404, which fails the test (an absolute URL).
async function mount(http_port, prefix) {
  const strip = (url) => (url.startsWith(prefix) ? `/${url.slice(prefix.length)}` : null);
  const server = http.createServer((request, response) => {
    const target = strip(request.url);
    if (target === null) {
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ error: `${request.url} is outside the mount ${prefix}` }));
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: http_port, method: request.method, path: target,
      headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', (error) => {
      response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(upstream);
  });
  server.on('upgrade', (request, socket, head) => {
    const target = strip(request.url);
    if (target === null) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(http_port), '127.0.0.1', () => {
      const lines = [`${request.method} ${target} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.add(server);
  return server.address().port;
}

async function open_page(http_port, page_path = '/') {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: chromium_path,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') console_problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => console_problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => console_problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) console_problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  await page.goto(`http://127.0.0.1:${http_port}${page_path}`);
  await page.locator('[data-testid="connection"][data-state="open"]').waitFor({ timeout: WAIT_MS });
  return page;
}

// policies/demo.yaml: one message, four recipients, three outcomes.
async function show_a_message() {
  const pki = path.join(work, 'pki');
  await run(icegate, ['pki', 'init', pki]);
  await run(icegate, ['pki', 'issue', pki, sender, ...Object.keys(expected)]);

  const { gateway_address, http_port } = await start_gateway('gateway', policy, pki);
  // Two recipients online (until the end of the test), so that Deliver and Ack frames are in the log.
  for (const node of listeners) {
    start(node, ['node', '--id', node, '--pki', pki, '--gateway', gateway_address, 'listen', '--timeout', '200']);
  }

  await open_page(http_port);
  log('the page is live');
  for (const node of listeners) {
    await page.locator(`[data-testid="iceberg-node-${node}"][data-connected="true"]`).waitFor({ timeout: WAIT_MS });
  }
  log(`the iceberg shows ${listeners.join(' and ')} connected`);

  const send = await run(icegate, ['node', '--id', sender, '--pki', pki, '--gateway', gateway_address,
    'send', '--file', message_file], { timeout: 60_000 }).catch((error) => error);
  if (send.code) throw new Error(`icegate node send exited with ${send.code}: ${send.stderr}${send.stdout}`);
  log(`${sender} sent the problem profile`);

  // The message list: the message, and each recipient's decision.
  const item = page.locator('[data-testid="message-item"]', { hasText: message_title });
  await item.waitFor({ timeout: WAIT_MS });
  for (const [recipient, { decision }] of Object.entries(expected)) {
    await item.locator(`[data-testid="decision-chip"][data-recipient="${recipient}"][data-decision="${decision}"]`)
      .waitFor({ timeout: WAIT_MS });
  }
  const summary = await item.locator('[data-testid="message-summary"]').textContent();
  expect_equal('the message summary', summary, '1 released · 2 redacted · 1 denied');
  log(`the list shows it: ${summary}`);

  // The iceberg: a decision badge at each recipient.
  for (const [recipient, { decision }] of Object.entries(expected)) {
    await page.locator(`[data-testid="iceberg-badge-${recipient}"][data-decision="${decision}"]`).waitFor({ timeout: WAIT_MS });
  }
  log('the iceberg shows each decision');

  // The detail: envelope, portions with their markings, decisions with rules and reasons.
  await item.click();
  const detail = page.locator('[data-testid="detail"]');
  await expect_text('the detail title', detail.locator('[data-testid="detail-title"]'), message_title);
  await expect_text('the originator', detail.locator('[data-testid="detail-originator"]'), sender);
  const portions = detail.locator('[data-testid="detail-portions"] > li');
  await wait_for('both portions in the detail', async () => (await portions.count()) === 2);
  await expect_text('the SECRET portion', portions.nth(0), 'SECRET');
  await expect_text('the RESTRICTED portion', portions.nth(1), 'RESTRICTED');
  for (const [recipient, { decision, rule, withheld }] of Object.entries(expected)) {
    const card = detail.locator(`[data-testid="detail-decision"][data-recipient="${recipient}"]`);
    await card.waitFor({ timeout: WAIT_MS });
    expect_equal(`${recipient}'s decision`, await card.getAttribute('data-decision'), decision);
    const reason = (await card.locator('[data-testid="detail-reason"]').textContent()).trim();
    if (!reason || reason === 'no reason given') throw new Error(`${recipient}: the detail gives no reason`);
    if (rule) await expect_text(`${recipient}'s rule`, card, rule);
    if (withheld) await expect_text(`${recipient}'s withheld portion`, card, `withheld ${withheld}`);
  }
  await wait_for('ctio-east shown as delivered and acknowledged', async () =>
    /delivered and acknowledged/.test(await detail.locator('[data-testid="detail-decision"][data-recipient="ctio-east"]').textContent()));
  log('the detail shows the envelope, both portions and every decision with its rules and reason');
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard.png') });

  // The frame log: Submit in from the sender, Deliver out to a recipient, its Ack, the Receipt.
  await page.locator('[data-testid="tab-frames"]').click();
  const frames = detail.locator('[data-testid="frame-log"] > li');
  const frame_seen = (type, route) => detail.locator(`[data-testid="frame-log"] > li[data-frame-type="${type}"]`)
    .filter({ has: page.locator('.frame-route', { hasText: route }) });
  for (const [type, route] of [['Submit', `from ${sender}`], ['Deliver', 'to ctio-east'], ['Ack', 'from ctio-east'],
    ['Receipt', `to ${sender}`]]) {
    await wait_for(`a ${type} frame ${route} in the frame log`, async () => (await frame_seen(type, route).count()) > 0);
  }
  const submit = frame_seen('Submit', `from ${sender}`).first();
  await submit.locator('summary').click();
  await expect_text('the Submit frame text', submit.locator('pre'), 'problem profile');
  log(`the frame log has Submit, Deliver, Ack and Receipt (${await frames.count()} frames)`);
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-frames.png') });

  // The sequence diagram: the originator, the gateway and each recipient, an arrow per frame.
  await page.locator('[data-testid="tab-sequence"]').click();
  const diagram = detail.locator('[data-testid="sequence-diagram"]');
  await diagram.waitFor({ timeout: WAIT_MS });
  for (const lane of [sender, ...Object.keys(expected)]) {
    await expect_text(`the ${lane} lifeline`, diagram.locator('.seq-head'), lane, { any: true });
  }
  for (const type of ['Submit', 'Deliver', 'Ack', 'Receipt']) {
    const arrows = await diagram.locator(`[data-frame-type="${type}"]`).count();
    if (arrows === 0) throw new Error(`the sequence diagram has no ${type} arrow`);
  }
  expect_equal('decision lines in the diagram', await diagram.locator('.seq-decision').count(), Object.keys(expected).length);
  log('the sequence diagram has every lifeline, the frames and the decisions');
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-sequence.png') });

  // Keyboard: the tabs move with the arrow keys.
  await page.locator('[data-testid="tab-sequence"]').focus();
  await page.keyboard.press('ArrowLeft');
  expect_equal('the tab selected after ArrowLeft', await page.locator('[role="tab"][aria-selected="true"]').getAttribute('id'), 'tab-frames');
  expect_equal('the focused tab after ArrowLeft', await page.evaluate(() => document.activeElement?.id), 'tab-frames');

}

// policies/need-to-share.yaml: a profile for the chief executive is held for
// the council's critical reader, who approves it from the page.
async function approve_a_hold() {
  const pki = path.join(work, 'pki-hold');
  const [analyst, chief, reader] = ['ctu-analyst', 'council-chief-exec', 'council-critical-reader'];
  await run(icegate, ['pki', 'init', pki]);
  await run(icegate, ['pki', 'issue', pki, analyst, chief, reader]);
  const { gateway_address, http_port } = await start_gateway('gateway-hold', path.join(repo_root, 'policies/need-to-share.yaml'), pki);
  start(chief, ['node', '--id', chief, '--pki', pki, '--gateway', gateway_address, 'listen', '--timeout', '200']);
  const prefix = '/f/0123456789abcdef/t/0/';
  await open_page(await mount(http_port, prefix), prefix);
  log(`the page is live mounted under ${prefix}`);
  await page.locator(`[data-testid="iceberg-node-${chief}"][data-connected="true"]`).waitFor({ timeout: WAIT_MS });

  const title = 'Partner version for the chief executive';
  const send = await run(icegate, ['node', '--id', analyst, '--pki', pki, '--gateway', gateway_address, 'send',
    '--to', chief, '--category', 'ct-problem-profile', '--purpose', 'prevent', '--title', title,
    '--portion', 'RESTRICTED=Themes and suggested Prevent actions for partners.'], { timeout: 60_000 }).catch((error) => error);
  if (send.code) throw new Error(`icegate node send (held) exited with ${send.code}: ${send.stderr}${send.stdout}`);
  const item = page.locator('[data-testid="message-item"]', { hasText: title });
  await item.locator(`[data-testid="decision-chip"][data-recipient="${chief}"][data-decision="HOLD"]`).waitFor({ timeout: WAIT_MS });
  const hold = page.locator('[data-testid="hold-item"]', { hasText: title });
  await hold.waitFor({ timeout: WAIT_MS });
  const reviewers = await hold.locator('[data-testid="hold-reviewer"] option').allTextContents();
  if (!reviewers.includes(reader)) throw new Error(`the hold offers reviewers ${JSON.stringify(reviewers)}, not ${reader}`);
  log(`the page shows the hold for ${chief}, reviewers: ${reviewers.join(', ')}`);
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-hold.png') });

  await hold.locator('[data-testid="hold-reviewer"]').selectOption(reader);
  await hold.locator('[data-testid="hold-reason"]').fill('read as critical reader: fit for release');
  await hold.locator('[data-testid="hold-approve"]').click();
  await hold.waitFor({ state: 'detached', timeout: WAIT_MS }).catch(async (error) => {
    const status = await hold.locator('[data-testid="hold-status"]').textContent().catch(() => '');
    throw new Error(`the hold did not close after approval (status: "${status}"): ${error.message}`);
  });
  const released = item.locator(`[data-testid="decision-chip"][data-recipient="${chief}"]`);
  await wait_for(`${chief}'s decision after the approval`, async () =>
    ['RELEASE', 'RELEASE_REDACTED'].includes(await released.getAttribute('data-decision')));
  await item.click();
  await expect_text('the closed hold in the detail', page.locator('[data-testid="detail"]'), `approved by ${reader}`);
  log(`approved as ${reader} from the page: ${chief} now ${await released.getAttribute('data-decision')}`);
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-hold-approved.png') });
}

// policies/need-to-know.yaml denies the partner version that the shadow,
// need-to-share.yaml, would hold for the council's critical reader: the page
// names the shadow policy, counts one difference and shows what would change.
async function show_a_shadow_difference() {
  const pki = path.join(work, 'pki-shadow');
  const [analyst, chief] = ['ctu-analyst', 'council-chief-exec'];
  await run(icegate, ['pki', 'init', pki]);
  await run(icegate, ['pki', 'issue', pki, analyst, chief]);
  const { gateway_address, http_port } = await start_gateway('gateway-shadow',
    path.join(repo_root, 'policies/need-to-know.yaml'), pki,
    ['--shadow-policy', path.join(repo_root, 'policies/need-to-share.yaml')]);
  await open_page(http_port);
  const shadow = page.locator('[data-testid="shadow"]');
  await shadow.waitFor({ state: 'visible', timeout: WAIT_MS });
  await expect_text('the shadow policy name', page.locator('#shadow-name'), 'need-to-share');
  await expect_text('the difference count before any message', page.locator('[data-testid="shadow-count"]'), '(0 differences)');
  log('the page names the shadow policy, no differences yet');

  const title = 'Partner version under two policies';
  const send = await run(icegate, ['node', '--id', analyst, '--pki', pki, '--gateway', gateway_address, 'send',
    '--to', chief, '--category', 'ct-problem-profile', '--purpose', 'prevent', '--title', title,
    '--portion', 'RESTRICTED=Themes and suggested Prevent actions for partners.'], { timeout: 60_000 }).catch((error) => error);
  // Exit status 2: delivered to nobody, which is what the enforced policy decides here.
  if (send.code !== 2) throw new Error(`icegate node send (shadow) exited with ${send.code ?? 0}, not 2 (denied): ${send.stderr}${send.stdout}`);
  const item = page.locator('[data-testid="message-item"]', { hasText: title });
  await item.locator(`[data-testid="decision-chip"][data-recipient="${chief}"][data-decision="DENY"]`).waitFor({ timeout: WAIT_MS });
  await expect_text('the difference count', page.locator('[data-testid="shadow-count"]'), '(1 difference)');
  const difference = page.locator('[data-testid="shadow-item"]');
  await difference.first().waitFor({ timeout: WAIT_MS });
  expect_equal('shadow differences listed', await difference.count(), 1);
  await expect_text('the difference', difference, `${analyst} → ${chief}: DENY now, HOLD under the shadow`);
  await expect_text('the portion that would change', difference, '1 opened (withheld → held)');
  log(`the page shows the shadow difference: ${(await difference.first().textContent()).trim()}`);
  // The longest event type, shadow_difference, must stay inside its column of the live events.
  await page.locator('.event-type', { hasText: 'shadow_difference' }).first().waitFor({ timeout: WAIT_MS });
  const overflowing = await page.locator('.event-type').evaluateAll((spans) =>
    spans.filter((span) => span.scrollWidth > span.clientWidth).map((span) => span.textContent));
  expect_equal('event types wider than their column', JSON.stringify(overflowing), '[]');
  await shadow.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-shadow.png') });
}

// A port free on `host` now (bound and released): a policy must name a peer's port before it starts.
function free_port(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The West Midlands CTU's gateway of policies/federation/ (each gateway with
// its own PKI): the page lists its two peers. Birmingham's gateway runs, so
// that link comes up; Staffordshire's does not, so the page shows why.
async function show_the_peers() {
  const gateways = { 'gw-wm-ctu': '127.0.0.2', 'gw-birmingham': '127.0.0.3', 'gw-staffordshire': '127.0.0.4' };
  const files = { 'gw-wm-ctu': 'wm-ctu', 'gw-birmingham': 'birmingham-cc', 'gw-staffordshire': 'staffordshire' };
  const ports = {};
  for (const [id, address] of Object.entries(gateways)) {
    await run(icegate, ['pki', 'init', path.join(work, `pki-${id}`), '--gateway-id', id, '--address', address]);
    ports[id] = await free_port(address);
  }
  // Each policy as shipped, but for where the scheme, the peers' CAs and their ports are.
  const policy_of = (id) => {
    let text = readFileSync(path.join(repo_root, `policies/federation/${files[id]}.yaml`), 'utf8')
      .replaceAll('../schemes/gsc-2014.yaml', path.join(repo_root, 'policies/schemes/gsc-2014.yaml'));
    for (const [other, address] of Object.entries(gateways)) {
      text = text.replaceAll(`pki/${other}/ca.crt`, path.join(work, `pki-${other}`, 'ca.crt'))
        .replaceAll(`${address}:7443`, `${address}:${ports[other]}`);
    }
    const file = path.join(work, `${id}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  start('gw-birmingham', ['serve', '--policy', policy_of('gw-birmingham'), '--pki', path.join(work, 'pki-gw-birmingham'),
    '--listen', `127.0.0.3:${ports['gw-birmingham']}`, '--data', path.join(work, 'gw-birmingham-data'), '--no-fsync']);
  const { http_port } = await start_gateway('gw-wm-ctu', policy_of('gw-wm-ctu'), path.join(work, 'pki-gw-wm-ctu'), [],
    `127.0.0.2:${ports['gw-wm-ctu']}`);
  await open_page(http_port);
  const peers = page.locator('[data-testid="peers"]');
  await peers.waitFor({ state: 'visible', timeout: WAIT_MS });
  const birmingham = page.locator('[data-testid="peer-item"][data-peer-id="gw-birmingham"]');
  const staffordshire = page.locator('[data-testid="peer-item"][data-peer-id="gw-staffordshire"]');
  await birmingham.and(page.locator('[data-state="up"]')).waitFor({ timeout: WAIT_MS });
  await expect_text('the link to Birmingham', birmingham, '(dialled)');
  await expect_text('where Birmingham is dialled', birmingham, `127.0.0.3:${ports['gw-birmingham']}`);
  await expect_text('why Staffordshire is not up', staffordshire.locator('[data-testid="peer-error"]'),
    `cannot connect to 127.0.0.4:${ports['gw-staffordshire']}`);
  expect_equal('peers listed', await page.locator('[data-testid="peer-item"]').count(), 2);
  await expect_text('the peer count', page.locator('#peer-count'), '(1 of 2 up)');
  // A link that comes up is an event of the live log too.
  await expect_text('the peer event', page.locator('[data-testid="event-log"] .event-text'), 'peer gw-birmingham up', { any: true });
  log(`the page lists the peers: ${(await birmingham.textContent()).trim()} | ${(await staffordshire.textContent()).trim()}`);
  await peers.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(artifact_dir, 'dashboard-peers.png') });
}

function expect_equal(what, actual, wanted) {
  if (actual !== wanted) throw new Error(`${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`);
}

async function expect_text(what, locator, wanted, { any = false } = {}) {
  await wait_for(`${what} shows "${wanted}"`, async () => {
    const texts = any ? await locator.allTextContents() : [await locator.first().textContent()];
    return texts.some((text) => text?.includes(wanted));
  });
}

let status = 0;
try {
  await main();
} catch (error) {
  status = 1;
  log(`FAILED: ${error.message}`);
  if (page) {
    await page.screenshot({ path: path.join(artifact_dir, 'dashboard-failure.png') }).catch(() => {});
    log(`the page at the failure: ${path.join(artifact_dir, 'dashboard-failure.png')}`);
  }
  for (const problem of console_problems) log(problem);
  for (const child of children) {
    const lines = child.text.trim().split('\n').slice(-25).join('\n');
    if (lines) process.stdout.write(`--- last lines of ${path.basename(child.log_file)} ---\n${lines}\n`);
  }
} finally {
  await cleanup();
}
process.exit(status);
