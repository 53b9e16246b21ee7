// The page's only link to the gateway: the JSON API and the event WebSocket
// (docs/DASHBOARD.md). The ?token= the page was opened with is passed on to
// every request, so the page works when the gateway is bound beyond loopback.
// Every URL is relative to the page, so the page works at / (icegate serve)
// and mounted under a prefix (an exercise host's /f/SECRET/t/0/).

const token = new URLSearchParams(location.search).get('token');

export function with_token(path) {
  if (!token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, body) {
  const options = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(with_token(path), options);
  } catch (error) {
    throw new ApiError(0, `the gateway cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(response.status, `${method} ${path}: the answer is not JSON`);
  }
  if (!response.ok) {
    const reason = json && typeof json.error === 'string' ? json.error : text.trim() || response.statusText;
    const hint = response.status === 401 ? ' (open the page with the ?token= that `icegate serve` printed)' : '';
    throw new ApiError(response.status, `${reason}${hint}`);
  }
  return json;
}

export const api = {
  state: () => request('GET', 'api/state'),
  message: (id) => request('GET', `api/messages/${encodeURIComponent(id)}`),
  decide_hold: (id, decision, reviewer, reason) =>
    request('POST', `api/holds/${encodeURIComponent(id)}`, { decision, reviewer, reason }),
  exercise: (action) => request('POST', `api/exercise/${action}`),
};

// The WebSocket's URL: "ws" beside the page, with the page's scheme made ws: or wss:.
export function feed_url(page_href) {
  const url = new URL(with_token('ws'), page_href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

// Keeps one WebSocket to ws (beside the page) open, reconnecting with exponential backoff
// (with jitter, so many pages do not reconnect in step). On every (re)connect
// it fetches /api/state and hands it to on_state together with the events
// that arrived while the snapshot was in flight, so nothing between the two
// is lost; on_event then gets each later event in order.
export class EventFeed {
  constructor({ on_state, on_event, on_status }) {
    this.on_state = on_state;
    this.on_event = on_event;
    this.on_status = on_status;
    this.attempt = 0;
    this.socket = null;
    this.retry_timer = null;
    this.countdown_timer = null;
  }

  start() {
    this.connect();
  }

  connect() {
    clearTimeout(this.retry_timer);
    clearInterval(this.countdown_timer);
    this.on_status({ state: 'connecting', text: this.attempt === 0 ? 'connecting…' : 'reconnecting…' });
    let socket;
    try {
      socket = new WebSocket(feed_url(location.href));
    } catch (error) {
      this.schedule_retry(`cannot open the WebSocket: ${error.message}`);
      return;
    }
    this.socket = socket;
    let buffered = [];
    let synced = false;
    let ended = false;
    let opened = false;

    socket.addEventListener('open', async () => {
      opened = true;
      try {
        const state = await api.state();
        if (ended) return;
        synced = true;
        this.attempt = 0;
        this.on_state(state, buffered);
        buffered = null;
        this.on_status({ state: 'open', text: 'live' });
      } catch (error) {
        this.on_status({ state: 'error', text: error.message });
        socket.close(4000, 'state fetch failed');
      }
    });
    socket.addEventListener('message', (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        console.warn('icegate: ignoring an event that is not JSON', message.data);
        return;
      }
      if (synced) this.on_event(event);
      else buffered.push(event);
    });
    socket.addEventListener('close', async (close) => {
      ended = true;
      if (this.socket === socket) this.socket = null;
      let why = close.reason ? `closed: ${close.reason}` : close.code === 1006 ? 'connection lost' : `closed (${close.code})`;
      let state = 'closed';
      if (!opened) {
        // A refused upgrade says nothing to the page; the API says why (a missing token, say).
        try {
          await api.state();
        } catch (error) {
          if (error.status === 401 || error.status === 403) {
            why = error.message;
            state = 'error';
          }
        }
      }
      this.schedule_retry(why, state);
    });
  }

  schedule_retry(why, state = 'closed') {
    const base = Math.min(30000, 500 * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    const due = Date.now() + delay;
    const report = () => {
      const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      this.on_status({ state, text: `${why}; retrying in ${seconds} s` });
    };
    report();
    this.countdown_timer = setInterval(report, 1000);
    this.retry_timer = setTimeout(() => this.connect(), delay);
  }
}
