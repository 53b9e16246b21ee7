// Operation Nicole played by people, in a real browser (issue 14, point 8):
// the real `icegate exercise host` over HTTPS on loopback, Debian's headless
// Chromium (driven by playwright-core) trusting only the exercise's own CA,
// and five browser contexts: the facilitator, an evaluator and three players
// (the CT unit's senior investigating officer, the council chief executive and
// a Sparkhill neighbourhood officer on a phone).
//
// The SIO writes a two-level product (a RESTRICTED and a SECRET portion) to
// the chief executive and the neighbourhood officer; what each of them sees is
// checked against what `icegate policy explain` says the policy decides, not
// against a guess. The facilitator fires an unscheduled inject and a media
// item, the evaluator rates an objective and records an observation, the
// facilitator fills an improvement-plan row and writes the report, and the
// report (JSON and HTML) must hold the human action, the rating and the plan.
// At the API, from a player's page: that seat's secret reaches nothing else.
// A QR code on the facilitator's page is decoded with zbarimg (when installed)
// and must be the seat's link.
//
// Exit status: 0 passed, 1 failed, 77 skipped (only when /usr/bin/chromium or
// playwright-core is missing; ctest registers 77 as SKIP_RETURN_CODE).
//
// Environment: ICEGATE_BINARY (required), ICEGATE_ARTIFACT_DIR (screenshots;
// default: test-artifacts in the build tree), ICEGATE_SCREENSHOTS=DIR (also
// writes the consoles' screenshots there: docs/images for docs/FACILITATOR.md),
// ICEGATE_CHROMIUM (default /usr/bin/chromium), ICEGATE_KEEP=1 keeps the work
// directory.
import { spawn, execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
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
const screenshot_dir = process.env.ICEGATE_SCREENSHOTS || '';
// Upper bounds for things to happen, not expectations of speed: the machine is shared and noisy.
const WAIT_MS = 45_000;

const scenario = path.join(repo_root, 'scenarios/operation-nicole.yaml');
const policy = path.join(repo_root, 'policies/need-to-share.yaml');
const sio = 'ctu-sio';
const chief = 'council-chief-exec';
const npt = 'npt-officer';
const players = [sio, chief, npt];
// The two-level product. The category is one the policy caps at RESTRICTED
// for the council, so the SECRET portion must be withheld from the chief
// executive whatever the occasional-release allowance holds (checked below).
const product = {
  title: 'Consequence briefing: Sparkhill operation, partners and police',
  category: 'consequence-briefing',
  purpose: 'consequence-management',
  restricted: 'Arrests are planned in Sparkhill at 06:00. Plan for community tension and media interest.',
  secret: 'The intelligence comes from a covert source inside the network; two addresses are under surveillance.',
};
const unscheduled_inject = 'I10';  // the public statement, due at T+1h: fired early by hand
const media = { source: 'Birmingham Evening Mail', headline: 'Police seen at addresses in Sparkhill overnight' };
const rating = { objective: 'O2', value: 'S', note: 'Briefed in confidence, but late in the day.' };
const observation = 'The chief executive asked for the consequence management group to be convened.';
const plan_row = {
  issue: 'The chief executive learnt of the operation too late to prepare',
  corrective_action: 'Agree a pre-briefing trigger in the information sharing protocol',
  owner: 'BCU commander',
  due: '2027-01-31',
  objective: 'O2',
};

function log(text) {
  process.stdout.write(`exercise_host_test: ${text}\n`);
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
  skip(`playwright-core is not installed in ${path.join(here, 'node_modules')} (${error.code ?? error.message}); ` +
    'tools/dev setup runs npm ci there, which needs the npm registry');
}

// Built from a tree without the host (a branch not yet merged with it): there
// is nothing to play. Every build of main has it, so this never hides a failure there.
{
  const help = await promisify(execFile)(icegate, ['exercise', '--help']).catch((error) => error);
  if (!/^\s+host\s/m.test(String(help.stdout))) skip(`${icegate} has no \`exercise host\` command (see \`icegate exercise --help\`)`);
}

// --- processes, cleaned up on every way out ----------------------------------

const work = mkdtempSync(path.join(tmpdir(), 'icegate-exercise-host-'));
const children = new Set();
let browser = null;
let cleaning = null;

async function cleanup() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    if (browser) await browser.close().catch(() => {});
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
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

// stdin is a pipe left open: the host reads the facilitator's keys (p, r, s, q)
// from it, and the test drives it from the page instead.
function start(name, args) {
  const output = path.join(work, `${name}.log`);
  const child = spawn(icegate, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: repo_root });
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

function expect(what, condition, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
}

function expect_equal(what, actual, wanted) {
  if (actual !== wanted) throw new Error(`${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`);
}

// --- what the policy decides, from icegate itself -----------------------------

// `icegate policy explain` for the product to one recipient, with and without
// an occasional release available: the test needs a decision that does not
// depend on how much of the allowance earlier messages used.
async function policy_decision(recipient) {
  const explain = async (occasional) => {
    const args = ['policy', 'explain', policy, '--from', sio, '--to', recipient, '--category', product.category,
      '--purpose', product.purpose, '--portion', 'RESTRICTED', '--portion', 'SECRET/UK EYES ONLY', '--json'];
    if (occasional) args.push('--occasional');
    const result = await run(icegate, args, { cwd: repo_root }).catch((error) => error);
    if (result.code !== undefined && result.code !== 0 && result.code !== 2) {
      throw new Error(`icegate policy explain exited with ${result.code}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout);
  };
  const [without, with_allowance] = await Promise.all([explain(false), explain(true)]);
  const summary = (trace) => JSON.stringify([trace.decision, trace.portions.map((portion) => portion.outcome.released)]);
  expect(`the policy's decision for ${recipient} does not depend on the occasional allowance`,
    summary(without) === summary(with_allowance), `${summary(without)} vs ${summary(with_allowance)}`);
  return {
    decision: without.decision.toLowerCase(),
    released: without.portions.filter((portion) => portion.outcome.released).map((portion) => portion.marking),
    withheld: without.portions.filter((portion) => !portion.outcome.released).map((portion) => portion.marking),
    reason: without.reason,
  };
}

// --- the host ------------------------------------------------------------------

let facilitator_link = null;

// A port nobody listens on now (the kernel's choice), for the host to bind.
function free_port() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function start_host() {
  const out = path.join(work, 'reports');
  const port = await free_port();
  const host = start('host', ['exercise', 'host', scenario, '--policy', policy, '--play', players.join(','),
    '--http', `127.0.0.1:${port}`, '--https', '--speed', '60', '--evaluators', '1', '--out', out]);
  facilitator_link = await wait_for('the host prints the facilitator\'s link', () => {
    if (host.exitCode !== null) throw new Error(`icegate exercise host exited with ${host.exitCode}`);
    const match = /https:\/\/127\.0\.0\.1:\d+\/f\/[0-9a-f]{64}\//.exec(host.text);
    return match ? match[0] : null;
  });
  log(`the host is up; facilitator at ${facilitator_link.replace(/[0-9a-f]{64}/, '…')}`);
  return host;
}

// GET over TLS; `ca` null: the certificate is not checked (only to fetch the CA itself).
function https_get(url, ca) {
  return new Promise((resolve, reject) => {
    const request = https.get(url, ca ? { ca } : { rejectUnauthorized: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
  });
}

// The exercise CA: fetched from the facilitator's API, then proved to be the
// issuer of the server's certificate (a connection that verifies against it
// alone). Chromium checks a chain's keys against --ignore-certificate-errors-spki-list,
// and the server sends only its own certificate, so the list holds that
// certificate's key, which the CA was just seen to have issued; nothing else
// is let through.
async function exercise_ca() {
  const fetched = await https_get(`${facilitator_link}api/ca.crt`, null);
  expect_equal('GET api/ca.crt', fetched.status, 200);
  const pem = fetched.body;
  const { hostname, port } = new URL(facilitator_link);
  const server_der = await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: pem, servername: undefined }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(raw);
    });
    socket.on('error', (error) => reject(new Error(`the server's certificate does not verify against the exercise CA it serves: ${error.message}`)));
  });
  const verified = await https_get(`${facilitator_link}api/state`, pem);
  expect_equal('GET api/state, verifying the exercise CA', verified.status, 200);
  const spki_hash = (certificate) =>
    createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  const ca = new X509Certificate(pem);
  const server = new X509Certificate(server_der);
  expect('the server certificate is issued by the exercise CA', server.checkIssued(ca) && server.verify(ca.publicKey));
  return { pem, fingerprint: ca.fingerprint256, spki_hashes: [spki_hash(server)] };
}

// --- browsers ----------------------------------------------------------------------

const console_problems = [];
const pages = {};

async function open_console(name, url, { phone = false } = {}) {
  const context = await browser.newContext(phone
    ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' }
    : { viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (message) => {
    // A failed request is reported by the response handler below, with its URL
    // (and left out where the test asks for the error on purpose).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      console_problems.push(`${name}: console error: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => console_problems.push(`${name}: page error: ${error.message}`));
  page.on('response', (response) => {
    // 400s are expected where the test sends bad input on purpose (noted there).
    if (response.status() >= 400 && !page.expect_errors) console_problems.push(`${name}: HTTP ${response.status()} for ${response.url()}`);
  });
  await page.goto(url);
  await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: WAIT_MS });
  pages[name] = page;
  return page;
}

// The whole page as a test artifact; for the guide (ICEGATE_SCREENSHOTS), the
// top of it, as a reader would first see it.
async function screenshot(page, name, { full = true, element = null } = {}) {
  const file = path.join(artifact_dir, `exercise-${name}.png`);
  if (element) {
    // One part of a page, the same for the artifacts and the guide.
    await element.screenshot({ path: file });
    if (screenshot_dir) {
      mkdirSync(screenshot_dir, { recursive: true });
      await element.screenshot({ path: path.join(screenshot_dir, `exercise-${name}.png`) });
    }
    return;
  }
  await page.screenshot({ path: file, fullPage: full });
  if (screenshot_dir) {
    mkdirSync(screenshot_dir, { recursive: true });
    const { width } = page.viewportSize();
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.screenshot({
      path: path.join(screenshot_dir, `exercise-${name}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width, height: Math.min(height, width < 600 ? 1500 : 1100) },
    });
  }
}

// --- the test ------------------------------------------------------------------------

async function main() {
  mkdirSync(artifact_dir, { recursive: true });
  const expected = { [chief]: await policy_decision(chief), [npt]: await policy_decision(npt) };
  expect_equal(`the policy's decision for ${chief}`, expected[chief].decision, 'release_redacted');
  log(`the policy decides: ${chief} ${expected[chief].decision}, ${npt} ${expected[npt].decision}`);

  await start_host();
  const ca = await exercise_ca();
  browser = await chromium.launch({
    executablePath: chromium_path,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      `--ignore-certificate-errors-spki-list=${ca.spki_hashes.join(',')}`],
  });

  // The facilitator: the seats and their links, the CA fingerprint, a QR code.
  const facilitator = await open_console('facilitator', facilitator_link);
  const table = facilitator.locator('[data-testid="table"][data-index="0"]');
  for (const node of players) await table.locator(`[data-testid="seat"][data-node="${node}"]`).waitFor({ timeout: WAIT_MS });
  const links = {};
  for (const node of players) {
    links[node] = await table.locator(`[data-testid="seat"][data-node="${node}"] [data-testid="seat-link"]`).getAttribute('href');
    expect(`${node}'s join link`, /^https:\/\/127\.0\.0\.1:\d+\/s\/[0-9a-f]{64}\/$/.test(links[node] ?? ''), links[node]);
  }
  expect('every seat has its own secret', new Set(Object.values(links)).size === players.length);
  await wait_for('the CA fingerprint on the facilitator\'s page', async () =>
    (await facilitator.locator('[data-testid="ca-fingerprint"]').textContent()).trim() === ca.fingerprint);
  log('the facilitator sees the three seats, their links and the CA fingerprint');
  await decode_qr(facilitator, table, chief, links[chief]);

  const evaluator_link = await facilitator.locator('[data-testid="evaluator-link"]').first().getAttribute('href');
  await table.locator('[data-testid="control-resume"]').click();
  await table.locator('[data-testid="table-state"][data-state="running"]').waitFor({ timeout: WAIT_MS });
  log('the facilitator started the clock');

  // The players and the evaluator.
  const sio_page = await open_console(sio, links[sio]);
  const chief_page = await open_console(chief, links[chief]);
  const npt_page = await open_console(npt, links[npt], { phone: true });
  const evaluator = await open_console('evaluator', evaluator_link);
  await expect_text(`${chief}'s page says who they are`, chief_page.locator('[data-testid="me"]'), 'chief executive');
  await expect_text(`${chief}'s vetting`, chief_page.locator('[data-testid="me"]'), 'BPSS');

  await seat_is_its_own(chief_page, links);
  await send_the_product(sio_page);
  await check_what_each_sees(sio_page, { [chief]: chief_page, [npt]: npt_page }, expected);
  await reload_and_lose_network(chief_page);
  await second_browser_on_a_seat(chief_page, links[chief]);
  await iceberg_in_the_facilitators_page(table);
  await inject_and_media(facilitator, table, chief_page, npt_page, sio_page);
  await evaluate(evaluator);
  await phone_fits(npt_page);

  await screenshot(facilitator, 'facilitator');
  await screenshot(sio_page, 'player-sio');
  await screenshot(chief_page, 'player');
  await screenshot(npt_page, 'player-phone');
  await screenshot(evaluator, 'evaluator');

  await write_the_report(facilitator);
  if (console_problems.length) throw new Error(`the pages reported problems:\n  ${console_problems.join('\n  ')}`);
  log(`passed; screenshots in ${artifact_dir}`);
}

// The QR code beside a seat, decoded from the page's own pixels.
async function decode_qr(facilitator, table, node, link) {
  let zbarimg = null;
  try {
    await run('zbarimg', ['--version']);
    zbarimg = 'zbarimg';
  } catch {
    log('zbarimg is not installed: the QR code is not decoded (Debian\'s zbar-tools)');
    return;
  }
  const image = table.locator(`[data-testid="seat"][data-node="${node}"] img.qr`);
  await image.waitFor({ timeout: WAIT_MS });
  const file = path.join(work, `qr-${node}.png`);
  // Large enough that every module is several whole pixels: the test checks
  // the code, not the camera of a phone across the room.
  await image.evaluate((element) => { element.style.width = '480px'; element.style.height = '480px'; });
  await image.screenshot({ path: file });
  await image.evaluate((element) => { element.style.width = ''; element.style.height = ''; });
  const decoded = await run(zbarimg, ['--raw', '-q', file]).catch((error) => {
    throw new Error(`zbarimg could not read ${node}'s QR code (${error.stderr || error.message})`);
  });
  expect_equal(`${node}'s QR code`, decoded.stdout.trim(), link);
  log(`${node}'s QR code decodes to the seat's link`);
}

// At the API, from the chief executive's page: the secret in its path reaches
// its own seat and nothing else.
async function seat_is_its_own(page, links) {
  const secret = /\/s\/([0-9a-f]{64})\//.exec(links[chief])[1];
  const other = /\/s\/([0-9a-f]{64})\//.exec(links[npt])[1];
  page.expect_errors = true;
  const answers = await page.evaluate(async ({ secret, other }) => {
    const status = async (url, init) => {
      const response = await fetch(url, { cache: 'no-store', ...init });
      let body = null;
      try { body = await response.json(); } catch { body = null; }
      return { status: response.status, body };
    };
    const post = (url, body) => status(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return {
      own: await status('api/seat?since=0'),
      facilitator: await status(`/f/${secret}/api/state`),
      evaluator: await status(`/e/${secret}/api/state`),
      dashboard: await status(`/f/${secret}/t/0/api/state`),
      // Another seat's secret with its last digit changed: one wrong digit is as good as none.
      guessed: await status(`/s/${other.slice(0, 63)}${other.endsWith('0') ? '1' : '0'}/api/seat`),
      control: await post('api/control', { table: null, action: 'pause' }),
      foreign_review: await post('api/review', { hold_id: 'not-a-hold-of-this-seat', verdict: 'approve', withhold_portions: [], comment: '' }),
    };
  }, { secret, other });
  page.expect_errors = false;
  expect_equal('the seat reads its own node', answers.own.body?.me?.node, chief);
  for (const what of ['facilitator', 'evaluator', 'dashboard']) {
    expect(`a seat's secret under /${what[0]}/ is refused`, answers[what].status === 404, JSON.stringify(answers[what]));
  }
  expect('a wrong secret is refused', answers.guessed.status === 404, JSON.stringify(answers.guessed));
  expect('a seat has no facilitator controls', answers.control.status === 404 || answers.control.status === 403, JSON.stringify(answers.control));
  expect('a seat cannot answer a review that is not its own',
    [400, 403, 404].includes(answers.foreign_review.status), JSON.stringify(answers.foreign_review));
  log(`at the API, ${chief}'s secret reads only its own seat (facilitator, evaluator, dashboard: 404; another's review: ${answers.foreign_review.status})`);
}

async function choose_addressee(page, row, node) {
  const rows = page.locator('[data-testid="addressee"]');
  while ((await rows.count()) <= row) await page.locator('[data-testid="add-addressee"]').click();
  await rows.nth(row).locator('[data-testid="addressee-kind"]').selectOption('node');
  await rows.nth(row).locator('[data-testid="addressee-name"]').selectOption(node);
}

// The SIO writes the two-level product; first with a portion too large, which
// the page must show beside that portion, with nothing sent.
async function send_the_product(page) {
  const compose = page.locator('[data-testid="compose"]');
  await choose_addressee(page, 0, chief);
  await choose_addressee(page, 1, npt);
  await page.locator('[data-testid="category"]').selectOption(product.category);
  await page.locator('[data-testid="purpose"]').selectOption(product.purpose);
  await page.locator('[data-testid="title"]').fill(product.title);
  const portions = page.locator('[data-testid="compose-portion"]');
  await portions.nth(0).locator('[data-testid="compose-classification"]').selectOption('RESTRICTED');
  await portions.nth(0).locator('[data-testid="compose-body"]').evaluate((element) => { element.removeAttribute('maxlength'); });
  await portions.nth(0).locator('[data-testid="compose-body"]').fill('x'.repeat(17 * 1024));
  await page.locator('[data-testid="add-portion"]').click();
  await portions.nth(1).locator('[data-testid="compose-classification"]').selectOption('SECRET');
  await portions.nth(1).locator('[data-testid="portion-category-UK EYES ONLY"]').check();
  await portions.nth(1).locator('[data-testid="compose-body"]').fill(product.secret);

  page.expect_errors = true;
  await compose.locator('[data-testid="send"]').click();
  const error = compose.locator('[data-testid="field-error"]');
  await error.waitFor({ timeout: WAIT_MS });
  page.expect_errors = false;
  const field = await error.getAttribute('data-field');
  expect('the oversized portion is named', field.startsWith('portions[0]'), `the error names ${field}`);
  expect('the error sits beside the first portion', await portions.nth(0).locator('[data-testid="field-error"]').count() === 1);
  log(`an oversized portion: "${(await error.textContent()).trim()}", shown beside it`);
  await screenshot(page, 'player-error', { element: portions.nth(0) });

  await portions.nth(0).locator('[data-testid="compose-body"]').fill(product.restricted);
  await compose.locator('[data-testid="send"]').click();
  await expect_text('the send is accepted', compose.locator('[data-testid="compose-status"]'), 'Sent');
  expect_equal('no error is left on the form', await compose.locator('[data-testid="field-error"]').count(), 0);
  log(`${sio} sent "${product.title}" (RESTRICTED + SECRET UK EYES ONLY) to ${chief} and ${npt}`);
}

// Each recipient's page shows exactly what the policy releases to them, and
// the SIO's receipt agrees.
async function check_what_each_sees(sio_page, recipient_pages, expected) {
  const receipt = sio_page.locator('[data-testid="receipt"]', { hasText: product.title });
  for (const [node, want] of Object.entries(expected)) {
    await receipt.locator(`[data-testid="receipt-outcome"][data-node="${node}"][data-decision="${want.decision}"]`)
      .waitFor({ timeout: WAIT_MS });
  }
  log(`${sio}'s receipt: ${Object.entries(expected).map(([node, want]) => `${node} ${want.decision}`).join(', ')}`);

  for (const [node, want] of Object.entries(expected)) {
    const page = recipient_pages[node];
    const item = page.locator('[data-testid="inbox-item"]', { hasText: product.title });
    if (want.decision === 'deny') {
      // Denied: nothing of it reaches the page (the receipt above has already come back).
      await sleep(2000);
      expect_equal(`${node}'s inbox items titled "${product.title}"`, await item.count(), 0);
    } else {
      await item.waitFor({ timeout: WAIT_MS });
      expect_equal(`${node}'s decision`, await item.getAttribute('data-decision'), want.decision);
      for (const marking of want.released) {
        await item.locator(`[data-testid="portion"][data-marking="${marking}"]`).waitFor({ timeout: WAIT_MS });
      }
      for (const marking of want.withheld) {
        const withheld = item.locator(`[data-testid="withheld-portion"][data-marking="${marking}"]`);
        await withheld.waitFor({ timeout: WAIT_MS });
        const reason = (await withheld.locator('[data-testid="withheld-reason"]').textContent()).trim();
        expect(`${node}: the withheld ${marking} portion gives the protocol's reason`, reason && reason !== 'no reason given', reason);
      }
      expect_equal(`${node}: released portions shown`, await item.locator('[data-testid="portion"]').count(), want.released.length);
    }
    const text = await page.content();
    if (want.withheld.some((marking) => marking.startsWith('SECRET'))) {
      expect(`${node}'s page holds no word of the SECRET portion`, !text.includes(product.secret));
    }
    if (want.decision === 'deny') expect(`${node}'s page holds nothing of the denied product`, !text.includes(product.restricted));
    log(`${node} sees what the policy allows: ${want.decision === 'deny' ? 'nothing (denied)'
      : `${want.decision}, shown ${want.released.join(', ')}${want.withheld.length ? `, withheld ${want.withheld.join(', ')}` : ''}`}`);
  }
  await expect_text(`${chief}'s withheld notice`, recipient_pages[chief].locator('[data-testid="withheld-portion"]'), 'SECRET', { any: true });
}

// A second browser on a taken seat (the player's phone beside the laptop) is
// allowed, as docs/HOSTING.md says: it shows the same seat, and both pages say
// how many have the seat open.
async function second_browser_on_a_seat(first, link) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const second = await context.newPage();
  await second.goto(link);
  await second.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: WAIT_MS });
  await second.locator('[data-testid="inbox-item"]', { hasText: product.title }).waitFor({ timeout: WAIT_MS });
  for (const [which, page] of [['the first page', first], ['the second page', second]])
    await wait_for(`${which} says the seat is open on 2 pages`, async () => {
      const text = (await page.locator('#pages-open').textContent()) ?? '';
      return (await page.locator('#pages-open').isVisible()) && text.includes('2 pages');
    });
  await context.close();
  log(`${chief}'s seat opened in a second browser: both pages show the seat and say it is open twice`);
}

// The live iceberg shows inside the facilitator's own page: the mounted
// dashboard may be framed by its own origin (and by nobody else).
async function iceberg_in_the_facilitators_page(table) {
  await table.locator('[data-testid="iceberg-panel"] summary').click();
  const frame = table.frameLocator('[data-testid="iceberg"]');
  await frame.locator('#messages-heading').waitFor({ timeout: WAIT_MS });
  await table.locator('[data-testid="iceberg-panel"] summary').click();
  log('the live iceberg shows inside the facilitator\'s page');
}

// A player who reloads gets the seat back with the inbox intact; one whose
// network drops sees that the page is reconnecting, then live again.
async function reload_and_lose_network(page) {
  await page.reload();
  await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: WAIT_MS });
  await page.locator('[data-testid="inbox-item"]', { hasText: product.title }).waitFor({ timeout: WAIT_MS });
  page.expect_errors = true;
  await page.context().setOffline(true);
  await page.locator('[data-testid="connection"][data-state="offline"]').waitFor({ timeout: WAIT_MS });
  expect_equal('the inbox while offline', await page.locator('[data-testid="inbox-item"]', { hasText: product.title }).count(), 1);
  await page.context().setOffline(false);
  await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: WAIT_MS });
  page.expect_errors = false;
  log(`${chief} reloaded (inbox intact) and lost the network (shown as reconnecting, then live again)`);
}

// The facilitator fires I10 (due at T+1h) now, and writes a media item for every seat.
async function inject_and_media(facilitator, table, chief_page, npt_page, sio_page) {
  await table.locator(`[data-testid="fire-${unscheduled_inject}"]`).click();
  await table.locator(`[data-testid="inject"][data-id="${unscheduled_inject}"][data-fired="true"]`).waitFor({ timeout: WAIT_MS });
  await chief_page.locator(`[data-testid="inbox-item"][data-inject="${unscheduled_inject}"]`).first().waitFor({ timeout: WAIT_MS });
  log(`the facilitator fired ${unscheduled_inject} early; ${chief} received it`);

  const form = facilitator.locator('[data-testid="media-form"]');
  await form.locator('[data-testid="media-kind"]').selectOption('news');
  await form.locator('[data-testid="media-source"]').fill(media.source);
  await form.locator('[data-testid="media-headline"]').fill(media.headline);
  await form.locator('[data-testid="media-body"]').fill('Residents report police vehicles in two streets; the police have not commented.');
  await form.locator('[data-testid="media-release"]').click();
  for (const page of [chief_page, npt_page, sio_page]) {
    await page.locator('[data-testid="media-item"]', { hasText: media.headline }).waitFor({ timeout: WAIT_MS });
  }
  log('the facilitator released a news item; every player sees it');
}

async function evaluate(page) {
  const objective = page.locator(`[data-testid="objective"][data-id="${rating.objective}"]`);
  await objective.waitFor({ timeout: WAIT_MS });
  await objective.locator(`[data-testid="rating-${rating.value}"]`).check();
  await objective.locator('[data-testid="rating-note"]').fill(rating.note);
  await objective.locator('[data-testid="rating-save"]').click();
  await objective.locator(`[data-testid="current-rating"][data-rating="${rating.value}"]`).waitFor({ timeout: WAIT_MS });
  await objective.locator('[data-testid="observation-text"]').fill(observation);
  await objective.locator('[data-testid="observation-save"]').click();
  await objective.locator('[data-testid="observation"]', { hasText: observation }).waitFor({ timeout: WAIT_MS });
  await page.locator('[data-testid="action"]', { hasText: product.title }).first().waitFor({ timeout: WAIT_MS });
  log(`the evaluator rated ${rating.objective} ${rating.value}, recorded an observation, and sees ${sio}'s send`);
}

// At 390 px the player's page scrolls only vertically, and its buttons are big enough to touch.
async function phone_fits(page) {
  const { scroll_width, small } = await page.evaluate(() => ({
    scroll_width: document.documentElement.scrollWidth,
    small: [...document.querySelectorAll('button')].filter((button) => button.offsetParent && button.getBoundingClientRect().height < 36)
      .map((button) => button.textContent.trim()),
  }));
  expect('the player\'s page fits a 390 px phone', scroll_width <= 390, `it is ${scroll_width} px wide`);
  expect('buttons are large enough to touch', small.length === 0, small.join(', '));
}

async function write_the_report(page) {
  const row = page.locator('[data-testid="plan-row"]').first();
  for (const field of ['issue', 'corrective_action', 'owner', 'due']) {
    await row.locator(`[data-testid="plan-${field}"]`).fill(plan_row[field]);
  }
  await row.locator('[data-testid="plan-objective"]').selectOption(plan_row.objective);
  await screenshot(page, 'plan', { element: page.locator('[data-testid="plan-panel"]') });
  await page.locator('[data-testid="finish"]').click();
  // The host names the files at once and writes them after: wait until they are on disk.
  const json_link = page.locator('[data-testid="report-link"][data-file$=".json"][data-ready="true"]').first();
  await json_link.waitFor({ timeout: 120_000 });
  const files = await page.locator('[data-testid="report-link"]').evaluateAll((links) => links.map((link) => link.dataset.file));
  log(`the facilitator wrote the report: ${files.join(', ')}`);
  await screenshot(page, 'facilitator-report', { element: page.locator('[data-testid="report-panel"]') });

  const fetch_text = (file) => page.evaluate(async (name) => {
    const response = await fetch(`reports/${encodeURIComponent(name)}`, { cache: 'no-store' });
    return { status: response.status, text: await response.text() };
  }, file);
  const json_file = files.find((file) => file.endsWith('.json'));
  const html_file = files.find((file) => file.endsWith('.html'));
  expect('the report has JSON and HTML', json_file && html_file, files.join(', '));
  const json = await fetch_text(json_file);
  expect_equal(`GET reports/${json_file}`, json.status, 200);
  const report = JSON.parse(json.text);

  const send = find(report, (value) => value.node === sio && value.title === product.title && Array.isArray(value.outcomes));
  expect(`the JSON report holds ${sio}'s send as a human action`, send);
  expect('the human action names both recipients\' outcomes',
    [chief, npt].every((node) => send.outcomes.some((outcome) => outcome.node === node)), JSON.stringify(send.outcomes));
  expect('the human action holds both markings', (send.labels ?? []).length === 2, JSON.stringify(send.labels));
  const rated = find(report, (value) => value.objective === rating.objective && value.rating === rating.value);
  expect(`the JSON report holds the rating ${rating.objective} ${rating.value}`, rated);
  expect('the JSON report holds the observation', find(report, (value) => value.text === observation));
  const planned = find(report, (value) => value.issue === plan_row.issue);
  expect('the JSON report holds the improvement plan row', planned);
  for (const field of ['corrective_action', 'owner', 'due', 'objective']) expect_equal(`the plan row's ${field}`, planned[field], plan_row[field]);

  const html = await fetch_text(html_file);
  expect_equal(`GET reports/${html_file}`, html.status, 200);
  for (const text of [product.title, plan_row.issue, plan_row.corrective_action, rating.note]) {
    expect(`the HTML report shows "${text}"`, html.text.includes(escape_html(text)));
  }
  log('the report (JSON and HTML) holds the human action, the rating, the observation and the improvement plan');
}

// The first value anywhere in `tree` for which `test` holds.
function find(tree, test) {
  if (tree && typeof tree === 'object') {
    if (!Array.isArray(tree) && test(tree)) return tree;
    for (const value of Object.values(tree)) {
      const found = find(value, test);
      if (found) return found;
    }
  }
  return null;
}

function escape_html(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
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
  for (const [name, page] of Object.entries(pages)) {
    const file = path.join(artifact_dir, `exercise-failure-${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  }
  if (Object.keys(pages).length) log(`the pages at the failure: ${path.join(artifact_dir, 'exercise-failure-*.png')}`);
  for (const problem of console_problems) log(problem);
  for (const child of children) {
    const lines = child.text.trim().split('\n').slice(-30).join('\n');
    if (lines) process.stdout.write(`--- last lines of ${path.basename(child.log_file)} ---\n${lines}\n`);
  }
} finally {
  await cleanup();
}
process.exit(status);
